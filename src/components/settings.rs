//! Settings: protocol, cluster size, seed, network defaults, options and
//! teaching toggles. Applying them starts a new run; a field that does not
//! make sense says why next to it, and the current run is kept.

use sim::sorted::SortedMap;
use std::rc::Rc;

use sim::{Duration, Latency, LinkParams, Ppm, Tail};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::catalog::{self, OptionKind, Setup};
use clusterscope::number::{fixed, parse_f64};
use clusterscope::share::SERVERS;

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub setup: Setup,
    pub on_apply: Callback<Setup>,
    /// Opens a toggle's scripted scenario: (protocol, toggle), the
    /// protocol chosen in the form (which may not be the run's yet).
    pub on_scenario: Callback<(String, String)>,
}

/// The form's fields as typed, so a half-typed value is never lost.
#[derive(Clone, PartialEq)]
struct Form {
    protocol: String,
    servers: String,
    seed: String,
    lat_min: String,
    lat_max: String,
    drop: String,
    dup: String,
    toggles: Vec<String>,
    options: SortedMap<String, String>,
}

impl Form {
    fn of(s: &Setup) -> Form {
        let ms = |d: Duration| trim_number(d.0 as f64 / 1_000.0);
        let pct = |p: Ppm| trim_number(p.0 as f64 / 10_000.0);
        Form {
            protocol: s.protocol.clone(),
            servers: s.servers.to_string(),
            seed: s.seed.to_string(),
            lat_min: ms(s.network.latency.min),
            lat_max: ms(s.network.latency.uniform_max()),
            drop: pct(s.network.drop),
            dup: pct(s.network.duplicate),
            toggles: s.toggles.clone(),
            options: option_texts(&s.protocol, |name| s.option(name)),
        }
    }

    /// The setup these fields describe, or a message for each bad field.
    fn parse(&self, base: &Setup) -> Result<Setup, Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut fail = |field: &str, text: String| errors.push((field.to_string(), text));
        let servers = match self.servers.trim().parse::<u32>() {
            Ok(n) if SERVERS.contains(&n) => n,
            Ok(n) => {
                fail(
                    "servers",
                    format!(
                        "A cluster has {} to {} servers, not {n}.",
                        SERVERS.start(),
                        SERVERS.end()
                    ),
                );
                0
            }
            Err(_) => {
                fail(
                    "servers",
                    format!(
                        "Type a whole number from {} to {}.",
                        SERVERS.start(),
                        SERVERS.end()
                    ),
                );
                0
            }
        };
        let seed = match self.seed.trim().parse::<u64>() {
            Ok(s) => s,
            Err(_) if self.seed.trim().starts_with('-') => {
                fail("seed", "A seed cannot be negative.".into());
                0
            }
            Err(_) => {
                fail(
                    "seed",
                    format!("A seed is a whole number from 0 to {}.", u64::MAX),
                );
                0
            }
        };
        let mut ms = |field: &str, text: &str| -> Option<u64> {
            match parse_f64(text.trim()) {
                Some(v) if v.is_finite() && (0.0..=60_000.0).contains(&v) => {
                    Some((v * 1_000.0).round() as u64)
                }
                Some(v) if v.is_finite() && v < 0.0 => {
                    fail(field, "A latency cannot be negative.".into());
                    None
                }
                _ => {
                    fail(
                        field,
                        "Type a number of milliseconds from 0 to 60000.".into(),
                    );
                    None
                }
            }
        };
        let lat_min = ms("lat_min", &self.lat_min);
        let lat_max = ms("lat_max", &self.lat_max);
        if let (Some(lo), Some(hi)) = (lat_min, lat_max) {
            if hi == 0 {
                fail(
                    "lat_max",
                    "Messages need some time to travel: the longest latency must be above 0."
                        .into(),
                );
            } else if hi < lo {
                fail(
                    "lat_max",
                    "The longest latency must not be below the shortest.".into(),
                );
            }
        }
        let mut pct = |field: &str, text: &str| -> Ppm {
            match parse_f64(text.trim().trim_end_matches('%')) {
                Some(v) if v.is_finite() && (0.0..=100.0).contains(&v) => {
                    Ppm((v * 10_000.0).round() as u32)
                }
                _ => {
                    fail(field, "Type a percentage from 0 to 100.".into());
                    Ppm::NEVER
                }
            }
        };
        let drop = pct("drop", &self.drop);
        let dup = pct("dup", &self.dup);
        let entry = catalog::entry(&self.protocol);
        let mut options = SortedMap::new();
        for spec in entry.iter().flat_map(|e| e.options.iter()) {
            let text = self
                .options
                .get(spec.name)
                .cloned()
                .unwrap_or_else(|| spec.default_value().text());
            match spec.parse(&text) {
                Ok(v) => {
                    options.insert(spec.name.to_string(), v);
                }
                Err(e) => errors.push((
                    spec.name.to_string(),
                    format!("{}.", crate::lab::capitalise(&e)),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (lat_min, lat_max) = (lat_min.unwrap_or(0), lat_max.unwrap_or(0));
        let known_toggles: Vec<&str> = entry
            .as_ref()
            .map(|e| e.toggles.iter().map(|t| t.name).collect())
            .unwrap_or_default();
        Ok(Setup {
            protocol: self.protocol.clone(),
            servers,
            seed,
            network: LinkParams {
                latency: Latency {
                    min: Duration(lat_min),
                    mean: Duration((lat_min + lat_max) / 2),
                    tail: Tail::Uniform,
                },
                drop,
                duplicate: dup,
                ..base.network
            },
            toggles: self
                .toggles
                .iter()
                .filter(|t| known_toggles.contains(&t.as_str()))
                .cloned()
                .collect(),
            options,
        })
    }
}

/// Every option of `protocol` as text, from `value` or the default.
fn option_texts(
    protocol: &str,
    value: impl Fn(&str) -> Option<catalog::OptionValue>,
) -> SortedMap<String, String> {
    catalog::entry(protocol)
        .map(|e| {
            e.options
                .iter()
                .map(|o| {
                    (
                        o.name.to_string(),
                        value(o.name).unwrap_or(o.default_value()).text(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes one typed field into the form.
type Setter = Rc<dyn Fn(&mut Form, String)>;

fn trim_number(v: f64) -> String {
    let s = fixed(v, 3);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[function_component(SettingsPanel)]
pub fn settings_panel(props: &SettingsProps) -> Html {
    let form = use_state(|| Form::of(&props.setup));
    let errors = use_state(Vec::<(String, String)>::new);
    {
        // A new run (from a link, or applied here) resets the form.
        let (form, errors) = (form.clone(), errors.clone());
        use_effect_with(props.setup.clone(), move |setup| {
            form.set(Form::of(setup));
            errors.set(Vec::new());
        });
    }
    {
        // After a refused submit, the first bad field takes the focus (and
        // so comes into view), whatever the panel's scroll position.
        let errors_now = (*errors).clone();
        use_effect_with(errors_now, |errors| {
            if !errors.is_empty() {
                if let Some(input) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| {
                        d.query_selector(".settings .field.invalid input")
                            .ok()
                            .flatten()
                    })
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = input.focus();
                }
            }
        });
    }
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
    };
    let text_field = |name: &'static str,
                      label: &'static str,
                      value: String,
                      hint: &'static str,
                      set: Setter| {
        let form = form.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                let mut f = (*form).clone();
                set(&mut f, i.value());
                form.set(f);
            }
        });
        let error = error_of(name);
        let id = format!("setting-{name}");
        html! {
            <div class={classes!("field", error.is_some().then_some("invalid"))}>
                <label for={id.clone()}>{label}</label>
                <input id={id.clone()} type="text" {value} {oninput} title={hint}
                    aria-invalid={error.is_some().to_string()} aria-describedby={format!("{id}-error")} />
                <span class="field-error" id={format!("{id}-error")} role={error.is_some().then_some("alert")}>{error.unwrap_or_default()}</span>
            </div>
        }
    };
    let on_protocol = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                let mut f = (*form).clone();
                f.protocol = s.value();
                f.toggles.clear();
                f.options = option_texts(&f.protocol, |_| None);
                if let Some(e) = catalog::entry(&f.protocol) {
                    f.servers = e.default_servers.to_string();
                }
                form.set(f);
            }
        })
    };
    let new_seed = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut f = (*form).clone();
            // A new seed is the app's choice; the run itself is a pure
            // function of whatever seed it gets.
            let hi = (js_random() * 4_294_967_296.0) as u64;
            let lo = (js_random() * 4_294_967_296.0) as u64;
            f.seed = ((hi << 32) | lo).to_string();
            form.set(f);
        })
    };
    let onsubmit = {
        let (form, errors, on_apply, base) = (
            form.clone(),
            errors.clone(),
            props.on_apply.clone(),
            props.setup.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form.parse(&base) {
                Ok(setup) => {
                    errors.set(Vec::new());
                    on_apply.emit(setup);
                }
                Err(list) => errors.set(list),
            }
        })
    };
    let entry = catalog::entry(&form.protocol);
    html! {
        <form class="settings" {onsubmit} novalidate=true aria-label="Settings for a new run">
            <div class="field">
                <label for="setting-protocol">{"Protocol"}</label>
                <select id="setting-protocol" onchange={on_protocol}>
                    { for catalog::entries().iter().map(|e| html! { <option value={e.name} selected={e.name == form.protocol}>{e.title}</option> }) }
                </select>
            </div>
            { text_field("servers", if form.protocol == "pubsub" { "Brokers" } else { "Servers" }, form.servers.clone(), "3 to 9 are comfortable, up to 25 work", Rc::new(|f, v| f.servers = v)) }
            <div class="field-row">
                { text_field("seed", "Seed", form.seed.clone(), "Every random choice of the run follows from the seed", Rc::new(|f, v| f.seed = v)) }
                <button type="button" class="button" onclick={new_seed} title="Pick a random seed">{"New seed"}</button>
            </div>
            <fieldset>
                <legend>{"Network"}</legend>
                <div class="field-row">
                    { text_field("lat_min", "Latency from (ms)", form.lat_min.clone(), "The shortest one-way delay", Rc::new(|f, v| f.lat_min = v)) }
                    { text_field("lat_max", "to (ms)", form.lat_max.clone(), "The longest one-way delay", Rc::new(|f, v| f.lat_max = v)) }
                </div>
                <div class="field-row">
                    { text_field("drop", "Drop (%)", form.drop.clone(), "Chance that a message is lost", Rc::new(|f, v| f.drop = v)) }
                    { text_field("dup", "Duplicate (%)", form.dup.clone(), "Chance that a message arrives twice", Rc::new(|f, v| f.dup = v)) }
                </div>
            </fieldset>
            if let Some(entry) = entry.clone() {
                <fieldset>
                    <legend>{"Options"}</legend>
                    { for entry.options.iter().map(|o| {
                        let name = o.name;
                        let text = form.options.get(name).cloned().unwrap_or_else(|| o.default_value().text());
                        match o.kind {
                            OptionKind::Switch { .. } => {
                                let on = text == "1";
                                let form = form.clone();
                                let onchange = Callback::from(move |_: Event| {
                                    let mut f = (*form).clone();
                                    f.options.insert(name.to_string(), if on { "0" } else { "1" }.to_string());
                                    form.set(f);
                                });
                                html! { <label class="check" data-option={name}><input type="checkbox" checked={on} {onchange} />{" "}{o.label}<span class="check-help">{o.help}</span></label> }
                            }
                            OptionKind::Choice { values, .. } => {
                                let form = form.clone();
                                let onchange = Callback::from(move |e: Event| {
                                    if let Some(s) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                                        let mut f = (*form).clone();
                                        f.options.insert(name.to_string(), s.value());
                                        form.set(f);
                                    }
                                });
                                let id = format!("setting-{name}");
                                html! {
                                    <div class="field" data-option={name}>
                                        <label for={id.clone()}>{o.label}</label>
                                        <select id={id} {onchange} title={o.help}>
                                            { for values.iter().map(|&v| html! { <option value={v} selected={v == text}>{v}</option> }) }
                                        </select>
                                    </div>
                                }
                            }
                            _ => text_field(name, o.label, text, o.help, Rc::new(move |f, v| { f.options.insert(name.to_string(), v); })),
                        }
                    }) }
                </fieldset>
                <fieldset>
                    <legend>{"Teaching toggles"}</legend>
                    <p class="dialog-help">{"Each breaks one rule of the protocol on purpose, so you can watch a checker catch it. Each has a scripted scenario that shows it."}</p>
                    { for entry.toggles.iter().map(|t| {
                        let name = t.name.to_string();
                        let on = form.toggles.contains(&name);
                        let onchange = {
                            let (form, name) = (form.clone(), name.clone());
                            Callback::from(move |_: Event| {
                                let mut f = (*form).clone();
                                if on { f.toggles.retain(|x| *x != name); } else { f.toggles.push(name.clone()); f.toggles.sort(); }
                                form.set(f);
                            })
                        };
                        let has_scenario = crate::scenarios::find(&form.protocol, &name).is_some();
                        let load = {
                            let (cb, name) = (props.on_scenario.clone(), name.clone());
                            let protocol = form.protocol.clone();
                            Callback::from(move |_: MouseEvent| cb.emit((protocol.clone(), name.clone())))
                        };
                        html! {
                            <div class="toggle" data-toggle={t.name}>
                                <label class="check"><input type="checkbox" checked={on} {onchange} />{" "}<code>{t.name}</code><span class="check-help">{t.explanation}</span></label>
                                if has_scenario {
                                    <button type="button" class="button button-small" onclick={load} title="Open a short run that shows what this toggle breaks">{"Load its scenario"}</button>
                                }
                            </div>
                        }
                    }) }
                </fieldset>
            }
            <div class="dialog-buttons">
                <button type="submit" class="button button-primary">{"Start new run"}</button>
            </div>
        </form>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `Math.random`: a new seed needs no cryptographic strength.
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn js_random() -> f64;
}
