//! The timeline: the whole run up to its horizon, with how busy each moment
//! was, where faults, rounds and violations happened, and where we are.
//! Dragging on it seeks.

use std::rc::Rc;

use sim::{Time, Timeline as Data};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::live::{use_painter, use_ticker, Paint};
use clusterscope::number::fixed;

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub data: Rc<Data>,
    pub on_seek: Callback<Time>,
}

#[function_component(TimelineBar)]
pub fn timeline_bar(props: &TimelineProps) -> Html {
    // The cursor, the shaded future and the slider's value move with time
    // alone: the painter (see `live.rs`) writes them into the elements; the
    // bar renders only when its data or its scale change.
    let ticker = use_ticker();
    let redraw = use_force_update();
    let moment = ticker.0.moment();
    let end = scale_end(moment.horizon.max(moment.now));
    let dragging = use_mut_ref(|| false);
    let seek_at = {
        let (on_seek, ticker) = (props.on_seek.clone(), ticker.clone());
        move |e: &PointerEvent| {
            let Some(el) = e
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            let m = ticker.0.moment();
            let end = scale_end(m.horizon.max(m.now));
            let r = el.get_bounding_client_rect();
            let f = ((f64::from(e.client_x()) - r.left()) / r.width().max(1.0)).clamp(0.0, 1.0);
            on_seek.emit(Time((f * end.0 as f64) as u64));
        }
    };
    let onpointerdown = {
        let (dragging, seek_at) = (dragging.clone(), seek_at.clone());
        Callback::from(move |e: PointerEvent| {
            *dragging.borrow_mut() = true;
            if let Some(el) = e
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                let _ = el.set_pointer_capture(e.pointer_id());
            }
            seek_at(&e);
        })
    };
    let onpointermove = {
        let (dragging, seek_at) = (dragging.clone(), seek_at.clone());
        Callback::from(move |e: PointerEvent| {
            // Only while the primary button is held: a pointerup that never
            // reaches us must not leave a mere hover seeking.
            if *dragging.borrow() && e.buttons() & 1 == 1 {
                seek_at(&e);
            } else {
                *dragging.borrow_mut() = false;
            }
        })
    };
    let onpointerup = {
        let dragging = dragging.clone();
        Callback::from(move |_: PointerEvent| *dragging.borrow_mut() = false)
    };
    let onkeydown = {
        let (on_seek, ticker) = (props.on_seek.clone(), ticker.clone());
        Callback::from(move |e: KeyboardEvent| {
            // Arrow keys belong to stepping; PageUp/PageDown and Home/End move along the timeline.
            let m = ticker.0.moment();
            let (now, end) = (m.now, scale_end(m.horizon.max(m.now)));
            let jump = end.0 / 20;
            let to = match e.key().as_str() {
                "PageUp" => Some(Time(now.0.saturating_sub(jump))),
                "PageDown" => Some(Time(now.0 + jump)),
                "Home" => Some(Time::ZERO),
                "End" => Some(Time(end.0 * 20 / 21)),
                _ => None,
            };
            if let Some(t) = to {
                e.prevent_default();
                on_seek.emit(t);
            }
        })
    };
    let (bar, future, cursor) = (use_node_ref(), use_node_ref(), use_node_ref());
    // The scale of this render, for the painter.
    let rendered_end = use_mut_ref(|| end);
    *rendered_end.borrow_mut() = end;
    {
        let (bar, future, cursor) = (bar.clone(), future.clone(), cursor.clone());
        let last = use_mut_ref(|| (String::new(), String::new(), u64::MAX));
        use_painter(move |paint: &Paint<'_>| {
            let m = paint.moment;
            let now_end = scale_end(m.horizon.max(m.now));
            if now_end != *rendered_end.borrow() {
                // The scale grew: the marks move, so render.
                redraw.force_update();
                return;
            }
            let x_of = |t: Time| t.0 as f64 / now_end.0 as f64 * 1000.0;
            let mut last = last.borrow_mut();
            let (f, c) = (percent(x_of(m.horizon) - x_of(m.now)), percent(x_of(m.now)));
            if let (true, Some(el)) = (f != last.0, future.cast::<web_sys::Element>()) {
                let _ = el.set_attribute("style", &f);
                last.0 = f;
            }
            if let (true, Some(el)) = (c != last.1, cursor.cast::<web_sys::Element>()) {
                let _ = el.set_attribute("style", &c);
                last.1 = c;
            }
            if let (true, true, Some(el)) = (
                paint.text,
                m.now.0 != last.2,
                bar.cast::<web_sys::Element>(),
            ) {
                let _ = el.set_attribute("aria-valuenow", &(m.now.0 / 1000).to_string());
                let _ = el.set_attribute("aria-valuetext", &m.now.to_string());
                last.2 = m.now.0;
            }
        });
    }
    html! {
        <div class="timeline" ref={bar} role="slider" tabindex="0" aria-label="Timeline: drag to go to a moment"
            aria-valuemin="0" aria-valuemax={(end.0 / 1000).to_string()}
            title="Drag to go to any moment; faults, rounds and violations are marked"
            {onpointerdown} {onpointermove} {onpointerup} {onkeydown}>
            <svg viewBox="0 0 1000 40" preserveAspectRatio="none" aria-hidden="true">
                <Marks data={props.data.clone()} end={end} />
            </svg>
            // The cursor marks now, and the part not reached yet is shaded
            // from the horizon on. The shade rides inside the cursor's
            // element, offset by (horizon - now): while a run plays at its
            // horizon that offset stays 0, so a frame moves one composited
            // element, and the marks under it are not repainted. Nothing is
            // marked beyond the horizon, so the shade hides nothing.
            <div class="tl-now" ref={cursor}><div class="tl-future" ref={future} /></div>
        </div>
    }
}

/// A transform to `x` thousandths of the width, in steps of a tenth of a
/// percent (about a pixel on a laptop's timeline): a cursor that moved less
/// than that is not written again.
fn percent(x: f64) -> String {
    format!("transform: translateX({}%)", fixed(x.round() / 10.0, 1))
}

/// The end of the timeline's scale: the next of 1, 2, 5, 10, 20, 50...
/// seconds past `t` with a little room, so the scale (and everything drawn
/// on it) changes rarely while a run plays.
fn scale_end(t: Time) -> Time {
    let want = t.0.max(1) * 21 / 20;
    let mut unit = 1_000_000u64;
    loop {
        for m in [1, 2, 5] {
            if unit * m >= want {
                return Time(unit * m);
            }
        }
        unit *= 10;
    }
}

#[derive(Properties, PartialEq)]
struct MarksProps {
    data: Rc<Data>,
    end: Time,
}

/// Density, inputs, rounds and violations: redrawn only when they or the
/// scale change, not every frame.
#[function_component(Marks)]
fn marks(props: &MarksProps) -> Html {
    let end = props.end;
    let x_of = |t: Time| t.0 as f64 / end.0 as f64 * 1000.0;
    let data = &props.data;
    let peak = data.density.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bucket_w = data.bucket.0 as f64 / end.0 as f64 * 1000.0;
    // Every density bar in one path: a step changes one attribute, not a
    // list of hundreds of elements to diff.
    let mut bars = String::new();
    for (i, &c) in data.density.iter().enumerate().filter(|(_, c)| **c > 0) {
        let h = (c as f64 / peak).sqrt() * 22.0 + 2.0;
        bars.push_str(&format!(
            "M{} {}h{}v{}h-{}z",
            fixed(i as f64 * bucket_w, 2),
            fixed(32.0 - h, 2),
            fixed(bucket_w.max(0.6), 2),
            fixed(h, 2),
            fixed(bucket_w.max(0.6), 2)
        ));
    }
    html! {
        <g>
            <path class="tl-density" d={bars} />
            <MarkList data={data.clone()} which={Which::Milestones} end={end} />
            <MarkList data={data.clone()} which={Which::Inputs} end={end} />
            // Each list in a group of its own: a keyed or changing list that
            // shares its element with other children is diffed by position.
            <g class="tl-violations">
                { for data.violations.iter().map(|v| html! {
                    <rect class="tl-violation" x={fixed(x_of(v.time) - 1.5, 2)} y="0" width="3" height="40"><title>{v.to_string()}</title></rect>
                }) }
            </g>
            <g class="tl-liveness-marks">
                { for data.liveness.iter().map(|v| html! {
                    <rect class="tl-liveness" x={fixed(x_of(v.time) - 1.5, 2)} y="0" width="3" height="40"><title>{format!("liveness {v}")}</title></rect>
                }) }
            </g>
        </g>
    }
}

/// Which marks a [`MarkList`] draws.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    Milestones,
    Inputs,
}

#[derive(Properties)]
struct MarkListProps {
    data: Rc<Data>,
    which: Which,
    end: Time,
}

impl MarkListProps {
    fn marks(&self) -> &[sim::Mark] {
        match self.which {
            Which::Milestones => &self.data.milestones,
            Which::Inputs => &self.data.inputs,
        }
    }
}

impl PartialEq for MarkListProps {
    /// Marks are only appended, or cut back by a fork and appended again:
    /// the same length and the same last mark on the same scale is the same
    /// list, so a step that adds no mark does not redraw (possibly
    /// thousands of) them.
    fn eq(&self, other: &Self) -> bool {
        self.which == other.which
            && self.end == other.end
            && self.marks().len() == other.marks().len()
            && self.marks().last() == other.marks().last()
    }
}

/// The milestones (rounds) or the inputs (faults, requests) on the timeline.
#[function_component(MarkList)]
fn mark_list(props: &MarkListProps) -> Html {
    let end = props.end;
    let x_of = |t: Time| t.0 as f64 / end.0 as f64 * 1000.0;
    match props.which {
        Which::Milestones => html! {
            <g class="tl-milestones">
                { for props.marks().iter().map(|m| html! {
                    <rect class="tl-milestone" x={fixed(x_of(m.time), 2)} y="33" width="1.6" height="7"><title>{m.text.clone()}</title></rect>
                }) }
            </g>
        },
        Which::Inputs => html! {
            <g class="tl-inputs">
                { for props.marks().iter().map(|m| html! {
                    <rect class={classes!("tl-input", format!("tl-{}", m.kind))} x={fixed(x_of(m.time) - 0.8, 2)} y="0" width="1.6" height="9"><title>{m.text.clone()}</title></rect>
                }) }
            </g>
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_moves_in_coarse_steps() {
        assert_eq!(scale_end(Time(0)), Time(1_000_000));
        assert_eq!(scale_end(Time(900_000)), Time(1_000_000));
        assert_eq!(scale_end(Time(1_000_000)), Time(2_000_000));
        assert_eq!(scale_end(Time(3_000_000)), Time(5_000_000));
        assert_eq!(scale_end(Time(49_000_000)), Time(100_000_000));
    }
}
