//! The checker panel: every safety property with its status. A broken one is
//! red, says when and why, and clicking it goes to that moment.

use std::rc::Rc;

use sim::{Rule, Violation};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CheckersProps {
    pub rules: Rc<Vec<Rule>>,
    /// Violations up to the moment shown.
    pub violations: Rc<Vec<Violation>>,
    /// Violations this timeline reaches later (after stepping back).
    pub later: Rc<Vec<Violation>>,
    pub on_jump: Callback<u64>,
}

#[function_component(CheckerPanel)]
pub fn checker_panel(props: &CheckersProps) -> Html {
    html! {
        <ul class="checkers" aria-label="Safety properties">
            { for props.rules.iter().map(|rule| {
                                let broken: Vec<&Violation> = props.violations.iter().filter(|v| v.rule == rule.id).collect();
                let later = props.later.iter().find(|v| v.rule == rule.id && !props.violations.contains(v));
                let status = if broken.is_empty() { "holds" } else { "broken" };
                html! {
                    <li class={classes!("rule", status)} data-rule={rule.id}>
                        <div class="rule-head">
                            <span class="rule-id">{rule.id}</span>
                            <span class="rule-name">{rule.name}</span>
                            <span class="rule-status" aria-label={format!("{} {}", rule.id, status)}>{if broken.is_empty() { "holds" } else { "BROKEN" }}</span>
                        </div>
                        <p class="rule-text">{rule.description}</p>
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
    }
}
