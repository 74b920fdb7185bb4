//! Settings: protocol, cluster size, seed, network defaults, teaching
//! toggles and options. Applying them starts a new run; a field that does
//! not make sense says why, and the current run is kept.

use std::collections::BTreeMap;

use sim::{Duration, Latency, LinkParams, Ppm, Tail};
use yew::prelude::*;

use crate::catalog::{self, Setup};
use clusterscope::share::SERVERS;

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub setup: Setup,
    pub on_apply: Callback<Setup>,
}

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
    options: BTreeMap<String, bool>,
}

impl Form {
    fn of(s: &Setup) -> Form {
        let ms = |d: Duration| trim_number(d.0 as f64 / 1_000.0);
        let pct = |p: Ppm| trim_number(p.0 as f64 / 10_000.0);
        let entry = catalog::entry(&s.protocol);
        Form {
            protocol: s.protocol.clone(),
            servers: s.servers.to_string(),
            seed: s.seed.to_string(),
            lat_min: ms(s.network.latency.min),
            lat_max: ms(s.network.latency.uniform_max()),
            drop: pct(s.network.drop),
            dup: pct(s.network.duplicate),
            toggles: s.toggles.clone(),
            options: entry
                .map(|e| {
                    e.options
                        .iter()
                        .map(|o| (o.name.to_string(), s.option(o.name)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The setup these fields describe, or a message for each bad field.
    fn parse(&self, base: &Setup) -> Result<Setup, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let servers = match self.servers.trim().parse::<u32>() {
            Ok(n) if SERVERS.contains(&n) => n,
            Ok(n) => {
                errors.push((
                    "servers",
                    format!(
                        "A cluster has {} to {} servers, not {n}.",
                        SERVERS.start(),
                        SERVERS.end()
                    ),
                ));
                0
            }
            Err(_) => {
                errors.push((
                    "servers",
                    format!(
                        "Type a whole number from {} to {}.",
                        SERVERS.start(),
                        SERVERS.end()
                    ),
                ));
                0
            }
        };
        let seed = match self.seed.trim().parse::<u64>() {
            Ok(s) => s,
            Err(_) if self.seed.trim().starts_with('-') => {
                errors.push(("seed", "A seed cannot be negative.".into()));
                0
            }
            Err(_) => {
                errors.push((
                    "seed",
                    format!("A seed is a whole number from 0 to {}.", u64::MAX),
                ));
                0
            }
        };
        let ms =
            |field: &'static str, text: &str, errors: &mut Vec<(&'static str, String)>| -> u64 {
                match text.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() && (0.0..=60_000.0).contains(&v) => {
                        (v * 1_000.0).round() as u64
                    }
                    Ok(v) if v.is_finite() && v < 0.0 => {
                        errors.push((field, "A latency cannot be negative.".into()));
                        0
                    }
                    _ => {
                        errors.push((
                            field,
                            "Type a number of milliseconds from 0 to 60000.".into(),
                        ));
                        0
                    }
                }
            };
        let lat_min = ms("lat_min", &self.lat_min, &mut errors);
        let lat_max = ms("lat_max", &self.lat_max, &mut errors);
        if lat_max == 0 && !errors.iter().any(|(f, _)| *f == "lat_max") {
            errors.push((
                "lat_max",
                "Messages need some time to travel: the longest latency must be above 0.".into(),
            ));
        } else if lat_max < lat_min {
            errors.push((
                "lat_max",
                "The longest latency must not be below the shortest.".into(),
            ));
        }
        let pct =
            |field: &'static str, text: &str, errors: &mut Vec<(&'static str, String)>| -> Ppm {
                match text.trim().trim_end_matches('%').parse::<f64>() {
                    Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => {
                        Ppm((v * 10_000.0).round() as u32)
                    }
                    _ => {
                        errors.push((field, "Type a percentage from 0 to 100.".into()));
                        Ppm::NEVER
                    }
                }
            };
        let drop = pct("drop", &self.drop, &mut errors);
        let dup = pct("dup", &self.dup, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let entry = catalog::entry(&self.protocol);
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
            options: self.options.clone(),
        })
    }
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[function_component(SettingsPanel)]
pub fn settings_panel(props: &SettingsProps) -> Html {
    let form = use_state(|| Form::of(&props.setup));
    let errors = use_state(Vec::<(&'static str, String)>::new);
    {
        // A new run (from a link, or applied here) resets the form.
        let (form, errors) = (form.clone(), errors.clone());
        use_effect_with(props.setup.clone(), move |setup| {
            form.set(Form::of(setup));
            errors.set(Vec::new());
        });
    }
    let text_field = |name: &'static str,
                      label: &'static str,
                      value: &str,
                      hint: &'static str,
                      set: fn(&mut Form, String)| {
        let form = form.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                let mut f = (*form).clone();
                set(&mut f, i.value());
                form.set(f);
            }
        });
        let error = errors
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.clone());
        let id = format!("setting-{name}");
        html! {
            <div class={classes!("field", error.is_some().then_some("invalid"))}>
                <label for={id.clone()}>{label}</label>
                <input id={id.clone()} type="text" inputmode="decimal" value={value.to_string()} {oninput} title={hint}
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
                f.options = catalog::entry(&f.protocol)
                    .map(|e| {
                        e.options
                            .iter()
                            .map(|o| (o.name.to_string(), o.default_on))
                            .collect()
                    })
                    .unwrap_or_default();
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
            // Randomness for a new seed is the app's business; the run itself
            // is deterministic in whatever seed it gets.
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
            { text_field("servers", "Servers", &form.servers, "3 to 9 are comfortable, up to 25 work", |f, v| f.servers = v) }
            <div class="field-row">
                { text_field("seed", "Seed", &form.seed, "Every random choice of the run follows from the seed", |f, v| f.seed = v) }
                <button type="button" class="button" onclick={new_seed} title="Pick a random seed">{"New seed"}</button>
            </div>
            <fieldset>
                <legend>{"Network"}</legend>
                <div class="field-row">
                    { text_field("lat_min", "Latency from (ms)", &form.lat_min, "The shortest one-way delay", |f, v| f.lat_min = v) }
                    { text_field("lat_max", "to (ms)", &form.lat_max, "The longest one-way delay", |f, v| f.lat_max = v) }
                </div>
                <div class="field-row">
                    { text_field("drop", "Drop (%)", &form.drop, "Chance that a message is lost", |f, v| f.drop = v) }
                    { text_field("dup", "Duplicate (%)", &form.dup, "Chance that a message arrives twice", |f, v| f.dup = v) }
                </div>
            </fieldset>
            if let Some(entry) = entry {
                if !entry.options.is_empty() {
                    <fieldset>
                        <legend>{"Options"}</legend>
                        { for entry.options.iter().map(|o| {
                            let name = o.name.to_string();
                            let on = form.options.get(o.name).copied().unwrap_or(o.default_on);
                            let form = form.clone();
                            let onchange = Callback::from(move |_: Event| {
                                let mut f = (*form).clone();
                                f.options.insert(name.clone(), !on);
                                form.set(f);
                            });
                            html! { <label class="check" title={o.help}><input type="checkbox" checked={on} {onchange} />{" "}{o.label}<span class="check-help">{o.help}</span></label> }
                        }) }
                    </fieldset>
                }
                <fieldset>
                    <legend>{"Teaching toggles"}</legend>
                    <p class="dialog-help">{"Each breaks one rule of the protocol on purpose, so you can watch a checker catch it."}</p>
                    { for entry.toggles.iter().map(|t| {
                        let name = t.name.to_string();
                        let on = form.toggles.contains(&name);
                        let form = form.clone();
                        let onchange = Callback::from(move |_: Event| {
                            let mut f = (*form).clone();
                            if on { f.toggles.retain(|x| *x != name); } else { f.toggles.push(name.clone()); f.toggles.sort(); }
                            form.set(f);
                        });
                        html! { <label class="check" data-toggle={t.name}><input type="checkbox" checked={on} {onchange} />{" "}<code>{t.name}</code><span class="check-help">{t.explanation}</span></label> }
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
