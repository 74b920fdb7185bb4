//! The checker panel: every safety property with its status. A broken one is
//! red, says when and why, and clicking it goes to that moment. One the
//! checker could not decide within its search budget (a linearizability
//! check of a very concurrent history) is amber and says which keys: it is
//! neither shown as holding nor as broken. Below them,
//! the liveness check (`sim::liveness`): waiting, pending, held, or failed
//! (amber, never a safety rule), with the same jumps.

use std::rc::Rc;

use sim::{DrainState, LivenessState, LivenessStatus, Rule, Undecided, Violation};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CheckersProps {
    pub rules: Rc<Vec<Rule>>,
    /// Violations up to the moment shown.
    pub violations: Rc<Vec<Violation>>,
    /// Violations this timeline reaches later (after stepping back).
    pub later: Rc<Vec<Violation>>,
    /// The liveness check at the moment shown.
    pub liveness: Option<Rc<LivenessState>>,
    /// Liveness failures this timeline reaches (also after stepping back).
    pub liveness_later: Rc<Vec<Violation>>,
    /// The checkers' live counters at the moment shown (a queue's
    /// published, acknowledged, ... messages); empty for most protocols.
    pub counters: Rc<Vec<(&'static str, u64)>>,
    /// The rules the checkers could not decide so far, at the moment shown.
    pub undecided: Rc<Vec<Undecided>>,
    pub on_jump: Callback<u64>,
}

/// The liveness check's entry: its state in a word and a sentence.
fn liveness_item(state: &LivenessState, later: &[Violation], on_jump: &Callback<u64>) -> Html {
    let rule = &state.rule;
    let bound = state.bound;
    let (status, word, text) = match &state.status {
        LivenessStatus::Waiting(why) => (
            "waiting",
            "waiting",
            format!("Waiting for a healed majority: {why}."),
        ),
        LivenessStatus::Pending { since, reason } => (
            "pending",
            "pending",
            format!(
                "Healed at {since}; must converge within {bound} (by {}). Not yet: {reason}.",
                *since + bound
            ),
        ),
        LivenessStatus::Held { since, at } => (
            "held",
            "held",
            format!(
                "Held at {at}, {} after healing at {since}.",
                at.saturating_since(*since)
            ),
        ),
        LivenessStatus::Failed { at, reason, .. } => {
            ("failed", "FAILED", format!("Failed at {at}: {reason}."))
        }
    };
    let jump = |step: u64| {
        let on_jump = on_jump.clone();
        Callback::from(move |_: MouseEvent| on_jump.emit(step + 1))
    };
    let failed_now = state.failures.last().filter(|_| status == "failed");
    let fails_later = later.iter().find(|v| !state.failures.contains(v));
    html! {
        <ul class="checkers liveness-checks" aria-label="Liveness">
            <li class={classes!("rule", "liveness", status)} data-rule={rule.id} data-liveness={status}>
                <div class="rule-head">
                    <span class="rule-id">{rule.id}</span>
                    <span class="rule-name">{rule.name}</span>
                    <span class="rule-status" aria-label={format!("liveness {} {}", rule.id, status)}>{word}</span>
                </div>
                <p class="rule-text">{rule.description}</p>
                if let Some(v) = failed_now {
                    <button type="button" class="liveness-failure" onclick={jump(v.step)}
                        title="Go to the moment the bound passed">{text}</button>
                } else {
                    <p class="liveness-state">{text}</p>
                }
                if let Some(d) = &state.drain {
                    { drain_line(d, on_jump) }
                }
                if let (None, Some(v)) = (failed_now, fails_later) {
                    <button type="button" class="liveness-failure later" onclick={jump(v.step)}
                        title="This run fails the liveness check later: go to that moment">
                        {format!("Fails later, at {}", v.time)}
                    </button>
                }
            </li>
        </ul>
    }
}

/// Where the latest drain stands ("Drain and check").
fn drain_line(d: &DrainState, on_jump: &Callback<u64>) -> Html {
    match d.checked {
        None => html! {
            <p class="drain pending" data-drain="pending">
                {format!("Final check asked for at {}: waiting for the cluster to settle.", d.requested)}
            </p>
        },
        Some((step, at)) => {
            let on_jump = on_jump.clone();
            let text = if d.settled {
                format!(
                    "Final check at {at}: the cluster settled {} after the drain at {}.",
                    at.saturating_since(d.requested),
                    d.requested
                )
            } else {
                format!("Final check at {at}: the cluster had not settled {} after the drain at {}; checked anyway.", at.saturating_since(d.requested), d.requested)
            };
            html! {
                <button type="button" class="drain checked" data-drain="checked"
                    title="Go to the moment of the final check"
                    onclick={Callback::from(move |_: MouseEvent| on_jump.emit(step + 1))}>{text}</button>
            }
        }
    }
}

#[function_component(CheckerPanel)]
pub fn checker_panel(props: &CheckersProps) -> Html {
    let liveness = props
        .liveness
        .as_ref()
        .map(|l| liveness_item(l, &props.liveness_later, &props.on_jump));
    html! {
        <>
        if !props.counters.is_empty() {
            <dl class="counters" aria-label="Counters">
                { for props.counters.iter().map(|(name, value)| html! {
                    <div class="counter" data-counter={*name}><dt>{*name}</dt><dd>{*value}</dd></div>
                }) }
            </dl>
        }
        <ul class="checkers" aria-label="Safety properties">
            { for props.rules.iter().map(|rule| {
                                let broken: Vec<&Violation> = props.violations.iter().filter(|v| v.rule == rule.id).collect();
                let later = props.later.iter().find(|v| v.rule == rule.id && !props.violations.contains(v));
                let undecided = props.undecided.iter().find(|u| u.rule == rule.id);
                let status = match (broken.is_empty(), undecided) {
                    (false, _) => "broken",
                    (true, Some(_)) => "undecided",
                    (true, None) => "holds",
                };
                html! {
                    <li class={classes!("rule", status)} data-rule={rule.id}>
                        <div class="rule-head">
                            <span class="rule-id">{rule.id}</span>
                            <span class="rule-name">{rule.name}</span>
                            <span class="rule-status" aria-label={format!("{} {}", rule.id, status)}>{match status { "broken" => "BROKEN", "undecided" => "undecided", _ => "holds" }}</span>
                        </div>
                        <p class="rule-text">{rule.description}</p>
                        if let (true, Some(u)) = (broken.is_empty(), undecided) {
                            <p class="rule-undecided">{format!("The check {}. It carries on as operations complete.", u.message)}</p>
                        }
                        { for broken.iter().take(5).map(|v| {
                            let step = v.step;
                            let on_jump = props.on_jump.clone();
                            html! {
                                <button type="button" class="violation" onclick={Callback::from(move |_: MouseEvent| on_jump.emit(step + 1))}
                                    title="Go to the moment it broke">
                                    <span class="ev-time">{format!("{}", v.time)}</span>{" "}{v.message.clone()}
                                </button>
                            }
                        }) }
                                                if broken.len() > 5 { <p class="rule-more">{format!("and {} more", broken.len() - 5)}</p> }
                        if let (true, Some(v)) = (broken.is_empty(), later) {
                            <button type="button" class="violation later" onclick={{ let (on_jump, step) = (props.on_jump.clone(), v.step); Callback::from(move |_: MouseEvent| on_jump.emit(step + 1)) }}
                                title="This run breaks the rule later: go to that moment">
                                {format!("Breaks later, at {}", v.time)}
                            </button>
                        }
                    </li>
                }
            }) }
        </ul>
        { liveness.unwrap_or_default() }
        </>
    }
}
