//! The controls bar: time, speed, and the two actions used most.

use yew::prelude::*;

use super::icons::{icon, Icon};
use crate::lab::{SPEED_MAX, SPEED_MIN};
use clusterscope::number::{fixed, parse_f64};
use sim::Time;

use crate::live::{use_painter, Paint};

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub playing: bool,
    pub speed: f64,
    pub at_start: bool,
    /// Which controls to show (embed mode may choose); `None` shows all.
    pub only: Option<Vec<String>>,
    pub on_toggle_play: Callback<()>,
    pub on_step: Callback<()>,
    pub on_step_back: Callback<()>,
    pub on_next_round: Callback<()>,
    pub on_speed: Callback<f64>,
    pub on_request: Callback<()>,
    pub on_heal_all: Callback<()>,
    pub on_drain: Callback<()>,
}

/// Slider position (0 to 1000) for a speed, on a log scale.
pub fn speed_to_slider(speed: f64) -> f64 {
    (speed / SPEED_MIN).log10() / (SPEED_MAX / SPEED_MIN).log10() * 1000.0
}

/// Speed for a slider position.
pub fn slider_to_speed(pos: f64) -> f64 {
    SPEED_MIN * 10f64.powf(pos / 1000.0 * (SPEED_MAX / SPEED_MIN).log10())
}

/// A speed as people read it: "1/50x", "2x".
pub fn speed_text(speed: f64) -> String {
    // As `format!("{rounded}x")` and `format!("1/{}x", (1.0 / speed).round())`
    // would write them, for every speed a run can have (1/1000x to 10x):
    // the shortest text of a number of tenths is its one decimal, or none.
    if speed >= 1.0 {
        let tenths = (speed * 10.0).round();
        let rounded = tenths / 10.0;
        let decimals = if tenths % 10.0 == 0.0 { 0 } else { 1 };
        format!("{}x", fixed(rounded, decimals))
    } else {
        format!("1/{}x", fixed((1.0 / speed).round(), 0))
    }
}

#[function_component(ControlsBar)]
pub fn controls_bar(props: &ControlsProps) -> Html {
    let show = |name: &str| {
        props
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    };
    let click = |cb: &Callback<()>| {
        let cb = cb.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let on_speed = {
        let cb = props.on_speed.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                if let Some(pos) = parse_f64(&input.value()) {
                    cb.emit(slider_to_speed(pos));
                }
            }
        })
    };
    let (play_label, play_icon) = if props.playing {
        ("Pause", Icon::Pause)
    } else {
        ("Play", Icon::Play)
    };
    html! {
        <nav class="controls-bar" aria-label="Run controls">
            if show("step") {
                <button type="button" class="control" aria-label="Step back" title="Step back one event (←)"
                    aria-keyshortcuts="ArrowLeft" disabled={props.at_start} onclick={click(&props.on_step_back)}>{icon(Icon::StepBack)}</button>
            }
            if show("play") {
                <button type="button" class="control control-primary" aria-label={play_label} title={format!("{play_label} (Space)")}
                    aria-keyshortcuts="Space" aria-pressed={props.playing.to_string()} onclick={click(&props.on_toggle_play)}>{icon(play_icon)}</button>
            }
            if show("step") {
                <button type="button" class="control" aria-label="Step forward" title="Step forward one event (→)"
                    aria-keyshortcuts="ArrowRight" onclick={click(&props.on_step)}>{icon(Icon::StepForward)}</button>
                <button type="button" class="control" aria-label="Next round" title="Run to the next protocol round: a leader elected, an entry committed (n)"
                    aria-keyshortcuts="n" onclick={click(&props.on_next_round)}>{icon(Icon::NextRound)}</button>
            }
            if show("speed") {
                <label class="speed" title="Playback speed, from 1/1000 to 10 times real protocol time">
                    <span class="speed-label">{"Speed"}</span>
                    <input type="range" min="0" max="1000" step="1" aria-label="Playback speed"
                        aria-valuetext={speed_text(props.speed)}
                        value={fixed(speed_to_slider(props.speed), 0)} oninput={on_speed} />
                    <output class="speed-value">{speed_text(props.speed)}</output>
                </label>
            }
            <Clock />
            <span class="controls-spacer" />
            if show("request") {
                <button type="button" class="button" title="Send a client request (c)" aria-keyshortcuts="c" onclick={click(&props.on_request)}>{"Client request"}</button>
            }
            if show("faults") {
                <button type="button" class="button" title="Heal every cut link and partition" onclick={click(&props.on_heal_all)}>{"Heal all links"}</button>
                <button type="button" class="button" title="End the faults (crashed servers stay down unless a majority needs them), let the cluster settle, then run the end-of-run checks: what was lost or duplicated (d)" aria-keyshortcuts="d" onclick={click(&props.on_drain)}>{"Drain and check"}</button>
            }
        </nav>
    }
}

/// The virtual time and the step count, painted on each published moment
/// (see `live.rs`) without rendering anything; while playing, the digits
/// change at most every `live::TEXT_EVERY_MS`.
#[function_component(Clock)]
fn clock() -> Html {
    let (time, step) = (use_node_ref(), use_node_ref());
    {
        let (time, step) = (time.clone(), step.clone());
        let last = use_mut_ref(|| (None::<Time>, None::<u64>));
        use_painter(move |paint: &Paint<'_>| {
            if !paint.text {
                return;
            }
            let m = paint.moment;
            let mut last = last.borrow_mut();
            if let (true, Some(el)) = (last.0 != Some(m.now), time.cast::<web_sys::Element>()) {
                el.set_text_content(Some(&m.now.to_string()));
                last.0 = Some(m.now);
            }
            if let (true, Some(el)) = (last.1 != Some(m.steps), step.cast::<web_sys::Element>()) {
                el.set_text_content(Some(&format!("event {}", m.steps)));
                last.1 = Some(m.steps);
            }
        });
    }
    html! {
        <span class="clock" role="status" aria-live="off" title="Virtual time and the number of events so far">
            <span class="clock-time" ref={time}></span>
            <span class="clock-step" ref={step}></span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_speed_slider_is_logarithmic_end_to_end() {
        assert!((slider_to_speed(0.0) - SPEED_MIN).abs() < 1e-9);
        assert!((slider_to_speed(1000.0) - SPEED_MAX).abs() < 1e-6);
        assert!((slider_to_speed(750.0) - 1.0).abs() < 1e-6);
        for s in [0.001, 0.02, 1.0, 7.5] {
            assert!((slider_to_speed(speed_to_slider(s)) - s).abs() < 1e-9);
        }
        assert_eq!(speed_text(0.02), "1/50x");
        assert_eq!(speed_text(2.0), "2x");
    }

    #[test]
    fn speeds_read_as_the_standard_float_formatting_writes_them() {
        let old = |speed: f64| {
            if speed >= 1.0 {
                let rounded = (speed * 10.0).round() / 10.0;
                format!("{rounded}x")
            } else {
                format!("1/{}x", (1.0 / speed).round())
            }
        };
        let slider = (0..=1000).map(|pos| slider_to_speed(f64::from(pos)));
        let links = (1..=10_000).map(|thousandths| f64::from(thousandths) / 1_000.0);
        for speed in slider.chain(links) {
            assert_eq!(speed_text(speed), old(speed), "{speed}");
            let pos = speed_to_slider(speed);
            assert_eq!(fixed(pos, 0), format!("{pos:.0}"));
        }
    }
}
