//! The stage: nodes on a ring, links, and every message in flight.
//!
//! Only what moves is redrawn each frame: node widgets are components with
//! `PartialEq` props and re-render only when their node changed; the
//! countdown rings and the messages layer are the parts that change with
//! time alone.

use std::rc::Rc;

use sim::{Fate, Health, Link, MessageView, MsgId, NodeId, NodeInfo, NodeKind, Time};
use web_sys::MouseEvent;
use yew::prelude::*;

use clusterscope::layout::{self, Place, HEIGHT, WIDTH};
use clusterscope::number::fixed;

use crate::live::{use_painter, use_ticker, Paint};
use crate::views::Cell;
use sim::sorted::SortedMap;
use wasm_bindgen::prelude::*;

/// Where a menu was asked for: the node or link, and the pointer position
/// in page coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MenuTarget {
    /// A node's menu.
    Node(NodeId),
    /// The menu of the link between two nodes (both directions).
    Link(NodeId, NodeId),
}

#[derive(Properties, PartialEq)]
pub struct StageProps {
    pub nodes: Rc<Vec<NodeInfo>>,
    /// Each node's compact strip (a log, slots), if its protocol draws one.
    pub strips: Rc<Vec<Option<Vec<Cell>>>>,
    pub colours: &'static [(&'static str, u8)],
    pub places: Rc<Vec<Place>>,
    pub links: Rc<Vec<(NodeId, NodeId, Link)>>,
    pub selected: Option<NodeId>,
    pub highlight: Vec<NodeId>,
    pub reduced_motion: bool,
    /// The playback speed while playing (virtual time per wall time), or
    /// `None` while paused.
    pub playing: Option<f64>,
    pub on_select: Callback<NodeId>,
    pub on_menu: Callback<(MenuTarget, i32, i32)>,
    pub on_drop_message: Callback<MsgId>,
}

#[function_component(Stage)]
pub fn stage(props: &StageProps) -> Html {
    let servers: Vec<usize> = (0..props.nodes.len())
        .filter(|&i| props.nodes[i].kind == NodeKind::Server)
        .collect();
    html! {
        <section class="stage" aria-label="Cluster stage">
            <svg class="stage-svg" viewBox={format!("0 0 {} {}", fixed(WIDTH, 0), fixed(HEIGHT, 0))} role="group" aria-label="Nodes and messages">
                <LinksLayer places={props.places.clone()} servers={Rc::new(servers)} links={props.links.clone()} on_menu={props.on_menu.clone()} />
                <g class="nodes">
                    { for props.nodes.iter().map(|info| {
                        let i = info.id.index();
                        html! {
                            <NodeWidget
                                key={i}
                                info={info.clone()}
                                strip={props.strips.get(i).cloned().flatten()}
                                place={props.places[i]}
                                selected={props.selected == Some(info.id)}
                                highlighted={props.highlight.contains(&info.id)}
                                on_select={props.on_select.clone()}
                                on_menu={props.on_menu.clone()}
                            />
                        }
                    }) }
                </g>
                            </svg>
            // Everything that moves with time alone lives in its own layer
            // (see .stage-live in the stylesheet), so a frame repaints the
            // messages and rings, not the whole cluster.
            <LiveLayer
                nodes={props.nodes.clone()}
                places={props.places.clone()}
                colours={props.colours}
                reduced_motion={props.reduced_motion}
                playing={props.playing}
                on_drop={props.on_drop_message.clone()}
            />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct LiveProps {
    nodes: Rc<Vec<NodeInfo>>,
    places: Rc<Vec<Place>>,
    colours: &'static [(&'static str, u8)],
    reduced_motion: bool,
    playing: Option<f64>,
    on_drop: Callback<MsgId>,
}

/// Everything that moves with time alone: the countdown rings and the
/// messages, on their own composited layer (see .stage-live in the
/// stylesheet). The layer renders when the set of messages or the nodes
/// change (a step). While the run plays, messages and rings move on the
/// browser's compositor, in Web Animations made at a step (`Flying`,
/// `Ticking`), so a wake without a step writes nothing here; paused (and,
/// for messages, with reduced motion) its painter (see `live.rs`) writes
/// each message's transform straight into its element.
#[function_component(LiveLayer)]
fn live_layer(props: &LiveProps) -> Html {
    let ticker = use_ticker();
    let redraw = use_force_update();
    let moment = ticker.0.moment();
    let flights = {
        let (colours, on_drop) = (props.colours, props.on_drop.clone());
        use_memo(
            Same(moment.messages.clone(), props.places.clone()),
            move |Same(messages, places)| {
                messages
                    .iter()
                    .map(|m| flight(m, colours, places, &on_drop))
                    .collect::<Vec<_>>()
            },
        )
    };
    let rings: Vec<Ring> = props
        .nodes
        .iter()
        .filter_map(|info| {
            let (set, fires) = info.countdown?;
            Some(Ring {
                id: info.id.index(),
                place: props.places[info.id.index()],
                set,
                fires,
                halves: [NodeRef::default(), NodeRef::default()],
            })
        })
        .collect();
    let html = html! {
        // Sized and centred exactly as the stage's SVG draws its viewBox
        // (see .stage-live in the stylesheet), so its percentages are stage
        // units.
        <div class="stage-live">
            // Each countdown ring is a box around its node holding two
            // half rings, each clipped to its half of the box and turned
            // away by a compositor animation as the timer runs (see
            // `Ticking`): the left half drains over the first half of the
            // timeout, then the right half.
            <div class="rings" aria-hidden="true">
                { for rings.iter().map(|ring| {
                    let p = ring.place;
                    let r = p.r + 3.5;
                    // Room for the stroke.
                    let side = 2.0 * r + 4.0;
                    let style = format!(
                        "left: {}%; top: {}%; width: {}%; height: {}%",
                        fixed((p.x - side / 2.0) / WIDTH * 100.0, 3),
                        fixed((p.y - side / 2.0) / HEIGHT * 100.0, 3),
                        fixed(side / WIDTH * 100.0, 3),
                        fixed(side / HEIGHT * 100.0, 3)
                    );
                    let view = format!("{} {} {} {}", fmt(-side / 2.0), fmt(-side / 2.0), fmt(side), fmt(side));
                    // From six o'clock up the left to twelve, and from
                    // twelve down the right to six.
                    let left = format!("M0,{} A{},{} 0 0 1 0,{}", fmt(r), fmt(r), fmt(r), fmt(-r));
                    let right = format!("M0,{} A{},{} 0 0 1 0,{}", fmt(-r), fmt(r), fmt(r), fmt(r));
                    html! {
                        <div key={ring.id} class="ring" {style}>
                            <div class="ring-half ring-left">
                                <svg ref={ring.halves[0].clone()} class="ring-arc" viewBox={view.clone()}><path class="countdown" d={left} /></svg>
                            </div>
                            <div class="ring-half ring-right">
                                <svg ref={ring.halves[1].clone()} class="ring-arc" viewBox={view}><path class="countdown" d={right} /></svg>
                            </div>
                        </div>
                    }
                }) }
            </div>
            // Each message is an HTML box the size of its envelope (16 x 11
            // stage units, centred on the stage's origin), moved by a CSS
            // transform in percent of its own size. Moving an HTML box
            // needs no layout, where moving an SVG group does (and each
            // layout makes the browser hit-test the pointer again); a small
            // box repaints only where the envelope was and is.
            <div class="messages" role="group" aria-label="Messages in flight">
                { for flights.iter().map(|f| html! {
                    <div key={f.id.0.to_string()} ref={f.node.clone()} class={f.class.clone()} data-kind={f.kind} onclick={f.onclick.clone()}>
                        <svg class="envelope" viewBox="-8 -5.5 16 11">
                            <title>{f.tip.clone()}</title>
                            <rect x="-8" y="-5.5" width="16" height="11" rx="2" />
                            <path d="M-8,-5.5 L0,1 L8,-5.5" />
                            if f.duplicate { <text class="dup-mark" x="9" y="-5">{"2"}</text> }
                        </svg>
                    </div>
                }) }
            </div>
        </div>
    };
    // What the painter draws: this render's flights and rings.
    let drawn = use_mut_ref(Drawn::default);
    {
        let mut d = drawn.borrow_mut();
        d.messages = moment.messages.clone();
        d.flights = flights.clone();
        d.rings = rings;
        d.rings_drawn.set(false);
        // Messages glide on the compositor while playing (see `Flying`);
        // reduced motion jumps them in quarters, so the painter moves them.
        d.motion = props.playing.filter(|_| !props.reduced_motion);
        // The rings drain at the run's pace either way.
        d.rate = props.playing;
        d.reduced_motion = props.reduced_motion;
    }
    use_painter(move |paint: &Paint<'_>| {
        let d = drawn.borrow();
        if !Rc::ptr_eq(&d.messages, &paint.moment.messages) {
            // A step changed the messages: render them first (the render
            // paints them again).
            redraw.force_update();
            return;
        }
        d.paint(paint.moment.now, paint.text, paint.wall);
    });
    html
}

/// A countdown ring: the ring around a node that shows how much of its
/// timer is left.
struct Ring {
    id: usize,
    place: Place,
    set: Time,
    fires: Time,
    /// The left and right half rings' SVG elements.
    halves: [NodeRef; 2],
}

/// What the live layer's last render drew, for its painter.
#[derive(Default)]
struct Drawn {
    messages: Rc<Vec<MessageView>>,
    flights: Rc<Vec<Flight>>,
    rings: Vec<Ring>,
    reduced_motion: bool,
    /// The playback speed while messages glide on the compositor (playing,
    /// motion not reduced); `None` while the painter places them.
    motion: Option<f64>,
    /// The animation of each message gliding, by message.
    flying: std::cell::RefCell<SortedMap<MsgId, Flying>>,
    /// The playback speed while playing, `None` while paused.
    rate: Option<f64>,
    /// The animations of each countdown ring, by node index.
    ticking: std::cell::RefCell<SortedMap<usize, Ticking>>,
    /// Whether `ticking` was made for this render's rings.
    rings_drawn: std::cell::Cell<bool>,
    /// The flights and speed `flying` was made for.
    glided: std::cell::RefCell<Option<(Rc<Vec<Flight>>, f64)>>,
    /// While playing, how the run's clock maps onto the compositor's, as
    /// the animations now running were timed (see `Clock`).
    clock: std::cell::Cell<Option<Clock>>,
}

/// How far (wall milliseconds) the run's clock may slip against the
/// compositor's before every animation is timed again: about a frame.
const DRIFT_MS: f64 = 20.0;

/// The run's clock against the compositor's while playing: the run is at
/// virtual time `now` at wall time `wall` (see `live::Paint::wall`), and
/// moves `speed` times as fast, so whatever starts at virtual time `t`
/// starts at wall time `t / speed - offset`, with `offset = now / speed -
/// wall` (milliseconds). It changes only when the run's clock jumps
/// against the wall's: a seek, a new speed, a wake cut short by
/// `lab::MAX_FRAME_MS`, or playing again after a pause.
#[derive(Clone, Copy, PartialEq)]
struct Clock {
    speed: f64,
    offset: f64,
}

impl Clock {
    fn of(now: Time, wall: f64, speed: f64) -> Clock {
        Clock {
            speed,
            offset: now.0 as f64 / 1_000.0 / speed - wall,
        }
    }

    /// The wall time (ms, the document timeline's) of virtual time `t`.
    fn wall(self, t: Time) -> f64 {
        t.0 as f64 / 1_000.0 / self.speed - self.offset
    }
}

impl Drawn {
    /// Moves every message and ring to `now` (reached at wall time `wall`
    /// while playing), writing only what changed; `exact` is a render or a
    /// wake that rewrites text.
    fn paint(&self, now: Time, exact: bool, wall: f64) {
        // Every animation is timed again only when the run's clock jumped
        // against the compositor's; otherwise only new ones are timed, as
        // they are made.
        let clock = self.rate.map(|speed| Clock::of(now, wall, speed));
        let retime = match (clock, self.clock.get()) {
            (Some(c), Some(old)) => {
                c.speed != old.speed || (c.offset - old.offset).abs() > DRIFT_MS
            }
            (c, old) => c.is_some() != old.is_some(),
        };
        if retime {
            self.clock.set(clock);
        }
        let clock = self.clock.get();
        let mut flying = self.flying.borrow_mut();
        match (self.motion, clock) {
            (Some(speed), Some(clock)) => {
                let same = self
                    .glided
                    .borrow()
                    .as_ref()
                    .is_some_and(|(f, s)| Rc::ptr_eq(f, &self.flights) && *s == speed);
                if !same {
                    self.glide(&mut flying, speed, clock);
                    *self.glided.borrow_mut() = Some((self.flights.clone(), speed));
                }
                if retime {
                    for f in flying.values() {
                        f.animation.set_start_time(clock.wall(f.sent));
                    }
                }
            }
            _ => {
                for (_, f) in std::mem::take(&mut *flying) {
                    f.animation.cancel();
                }
                *self.glided.borrow_mut() = None;
            }
        }
        // Gliding, every message with an element has its animation: the
        // painter has nothing to place.
        let placing = if flying.is_empty() {
            &self.flights[..]
        } else {
            &[]
        };
        for f in placing {
            let mut t = layout::progress(f.sent, f.arrives, now);
            if self.reduced_motion {
                // Jump in quarters rather than glide.
                t = (t * 4.0).floor() / 4.0;
            }
            // In half units (under half a pixel on a laptop screen): a slow
            // message is written again only when it moved that far.
            let (x, y) = f.point(t);
            let at = ((x * 2.0).round() as i32, (y * 2.0).round() as i32);
            if f.at.get() != Some(at) {
                if let Some(el) = f.node.cast::<web_sys::Element>() {
                    let _ = el.set_attribute(
                        "style",
                        &format!(
                            "transform: {}",
                            envelope_at(f64::from(at.0) / 2.0, f64::from(at.1) / 2.0)
                        ),
                    );
                    f.at.set(Some(at));
                }
            }
        }
        // A wake that took no step changes no ring while playing.
        if !(self.rings_drawn.get() && clock.is_some() && !retime) {
            self.tick(now, exact, retime, clock);
            self.rings_drawn.set(true);
        }
    }

    /// Hands every countdown ring to the compositor (see `Ticking`): made
    /// when a timer is set, played at the run's speed or paused with the
    /// run, and timed again when the run's clock jumped.
    fn tick(&self, now: Time, exact: bool, retime: bool, clock: Option<Clock>) {
        let mut ticking = self.ticking.borrow_mut();
        let mut kept = SortedMap::default();
        for ring in &self.rings {
            let (Some(left), Some(right)) = (
                ring.halves[0].cast::<web_sys::Element>(),
                ring.halves[1].cast::<web_sys::Element>(),
            ) else {
                continue;
            };
            let (ticks, new) = match ticking.remove(&ring.id) {
                Some(old) if old.timer == (ring.set, ring.fires) && old.element == left => {
                    (old, false)
                }
                old => {
                    if let Some(old) = old {
                        old.cancel();
                    }
                    let duration =
                        (ring.fires.0.saturating_sub(ring.set.0) as f64 / 1_000.0).max(0.001);
                    let ticks = Ticking {
                        timer: (ring.set, ring.fires),
                        halves: [
                            turn(&left, &[(0.0, 0.0), (0.5, -180.0), (1.0, -180.0)], duration),
                            turn(&right, &[(0.0, 0.0), (0.5, 0.0), (1.0, -180.0)], duration),
                        ],
                        element: left,
                    };
                    (ticks, true)
                }
            };
            match clock {
                // Playing: timed against the compositor's clock, at the
                // run's speed.
                Some(clock) if new || retime => {
                    for half in &ticks.halves {
                        half.set_playback_rate(clock.speed);
                        half.set_start_time(clock.wall(ring.set));
                    }
                }
                Some(_) => {}
                // Paused: held where the run is (a render is a seek or a
                // step back, so exactly at each one).
                None if new || retime || exact => {
                    let at = now.0.saturating_sub(ring.set.0) as f64 / 1_000.0;
                    for half in &ticks.halves {
                        half.pause();
                        half.set_current_time(at);
                    }
                }
                None => {}
            }
            kept.insert(ring.id, ticks);
        }
        for (_, gone) in std::mem::replace(&mut *ticking, kept) {
            gone.cancel();
        }
    }

    /// Hands every message to the compositor: one animation per message
    /// over its whole path at `speed`, timed against `clock`. Kept from one
    /// render to the next (a step changes the set of messages, not a
    /// message's path); made again when the speed changed, or the message
    /// did (dropped in flight, or another run's message by the same id).
    fn glide(&self, flying: &mut SortedMap<MsgId, Flying>, speed: f64, clock: Clock) {
        // Walked in id order beside the old animations (also in id order),
        // so a step among hundreds of messages costs a merge, not a search
        // and a shift per message.
        let mut order: Vec<&Flight> = self.flights.iter().collect();
        order.sort_unstable_by_key(|f| f.id);
        let mut old = std::mem::take(flying).into_iter().peekable();
        let mut kept = Vec::with_capacity(order.len());
        for f in order {
            while let Some((_, gone)) = old.next_if(|(id, _)| *id < f.id) {
                gone.animation.cancel();
            }
            let before = old.next_if(|(id, _)| *id == f.id).map(|(_, x)| x);
            let Some(el) = f.node.cast::<web_sys::Element>() else {
                if let Some(gone) = before {
                    gone.animation.cancel();
                }
                continue;
            };
            let flies = match before {
                // A message dropped in flight (by a click, say) falls away
                // from where it is: made again, with its fall.
                Some(old)
                    if old.speed == speed
                        && (old.sent, old.arrives, old.lost) == (f.sent, f.arrives, f.lost)
                        && old.element == el =>
                {
                    old
                }
                old => {
                    if let Some(old) = old {
                        old.animation.cancel();
                    }
                    let duration =
                        (f.arrives.0.saturating_sub(f.sent.0) as f64 / 1_000.0 / speed).max(1.0);
                    // Placed by the animation now; placed again by the
                    // painter (written afresh) if the run pauses.
                    f.at.set(None);
                    let animation = glide(&el, f, duration);
                    // A message sent later than now (after its sender's
                    // processing time) waits at its start until then.
                    animation.set_start_time(clock.wall(f.sent));
                    Flying {
                        animation,
                        speed,
                        sent: f.sent,
                        arrives: f.arrives,
                        lost: f.lost,
                        element: el,
                    }
                }
            };
            kept.push((f.id, flies));
        }
        for (_, gone) in old {
            gone.animation.cancel();
        }
        *flying = kept.into_iter().collect();
    }
}

/// A message gliding from sender to receiver on the compositor: while a run
/// plays, a wake that takes no step then writes nothing for it (each
/// message written every frame cost a style, paint and commit pass, 60
/// times a second).
struct Flying {
    animation: Animation,
    /// The playback speed it was made for.
    speed: f64,
    /// The message it was made for: when it was sent and arrives, and
    /// whether it falls away (lost).
    sent: Time,
    arrives: Time,
    lost: bool,
    /// The element it moves.
    element: web_sys::Element,
}

/// A countdown ring on the compositor: its two half rings turn away as the
/// timer runs, in animations whose time is the run's virtual time (in
/// milliseconds since the timer was set) and whose playback rate is the
/// run's speed while playing; paused with the run. A wake then writes
/// nothing for the rings (written 20 times a second, they cost a style,
/// paint and commit pass each time).
struct Ticking {
    /// The timer it shows: when it was set, when it fires.
    timer: (Time, Time),
    halves: [Animation; 2],
    /// The left half's element.
    element: web_sys::Element,
}

impl Ticking {
    fn cancel(&self) {
        for half in &self.halves {
            half.cancel();
        }
    }
}

/// Turns `el` through `stops` (offset, degrees) over `duration`
/// milliseconds of virtual time; paused until `Ticking` plays it.
fn turn(el: &web_sys::Element, stops: &[(f64, f64)], duration: f64) -> Animation {
    let frames: Vec<(f64, String)> = stops
        .iter()
        .map(|&(offset, degrees)| (offset, format!("rotate({}deg)", fixed(degrees, 0))))
        .collect();
    let animation = animate(el, &frames, duration, "both");
    animation.pause();
    animation
}

/// Starts a Web Animation of `el`'s transform through `frames` (offset,
/// transform), `duration` milliseconds long, at constant speed between
/// them, with the given `fill`.
fn animate(
    el: &web_sys::Element,
    frames: &[(f64, String)],
    duration: f64,
    fill: &str,
) -> Animation {
    let keyframes = js_sys::Array::new();
    for (offset, transform) in frames {
        let frame = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&frame, &"transform".into(), &transform.into());
        let _ = js_sys::Reflect::set(&frame, &"offset".into(), &(*offset).into());
        keyframes.push(&frame);
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"duration".into(), &duration.into());
    let _ = js_sys::Reflect::set(&options, &"fill".into(), &fill.into());
    el.unchecked_ref::<Animatable>()
        .animate(&keyframes, &options)
}

#[wasm_bindgen]
extern "C" {
    /// A Web Animations `Animation` (web-sys has it only behind its
    /// unstable-API flag).
    type Animation;
    /// An element, for its `animate` (see `Animation`).
    #[wasm_bindgen(extends = web_sys::Element)]
    type Animatable;
    #[wasm_bindgen(method)]
    fn animate(this: &Animatable, keyframes: &js_sys::Array, options: &js_sys::Object)
        -> Animation;
    #[wasm_bindgen(method, setter, js_name = startTime)]
    fn set_start_time(this: &Animation, wall_ms: f64);
    #[wasm_bindgen(method, setter, js_name = currentTime)]
    fn set_current_time(this: &Animation, ms: f64);
    #[wasm_bindgen(method)]
    fn cancel(this: &Animation);
    #[wasm_bindgen(method)]
    fn pause(this: &Animation);
    #[wasm_bindgen(method, setter, js_name = playbackRate)]
    fn set_playback_rate(this: &Animation, rate: f64);

}

/// Starts `f`'s element on its whole path, `duration` wall milliseconds
/// long, at constant speed; it stays at the end until a step removes it.
fn glide(el: &web_sys::Element, f: &Flight, duration: f64) -> Animation {
    // A lost message falls away over the second half of its path.
    let stops: &[f64] = if f.lost {
        &[0.0, 0.5, 1.0]
    } else {
        &[0.0, 1.0]
    };
    let frames: Vec<(f64, String)> = stops
        .iter()
        .map(|&t| {
            let (x, y) = f.point(t);
            (t, envelope_at(x, y))
        })
        .collect();
    animate(el, &frames, duration, "both")
}

/// The transform that puts a message's envelope (16 x 11 stage units,
/// centred on the stage's origin) at `(x, y)`: percent of its own size.
fn envelope_at(x: f64, y: f64) -> String {
    format!(
        "translate({}%, {}%)",
        fixed(x / 16.0 * 100.0, 2),
        fixed(y / 11.0 * 100.0, 2)
    )
}

#[derive(Properties, PartialEq)]
struct LinksProps {
    places: Rc<Vec<Place>>,
    servers: Rc<Vec<usize>>,
    links: Rc<Vec<(NodeId, NodeId, Link)>>,
    on_menu: Callback<(MenuTarget, i32, i32)>,
}

/// Faint lines between servers (clickable, for the link menu) for clusters
/// small enough to read, and every link that is cut or has its own settings.
#[function_component(LinksLayer)]
fn links_layer(props: &LinksProps) -> Html {
    let menu = |a: usize, b: usize| {
        let on_menu = props.on_menu.clone();
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            on_menu.emit((
                MenuTarget::Link(NodeId(a as u32), NodeId(b as u32)),
                e.client_x(),
                e.client_y(),
            ))
        })
    };
    let mut lines = Vec::new();
    if props.servers.len() <= 9 {
        for (k, &a) in props.servers.iter().enumerate() {
            for &b in &props.servers[k + 1..] {
                let (pa, pb) = (props.places[a], props.places[b]);
                lines.push(html! {
                    <line class="link" x1={fmt(pa.x)} y1={fmt(pa.y)} x2={fmt(pb.x)} y2={fmt(pb.y)}
                        onclick={menu(a, b)} oncontextmenu={menu(a, b)}>
                        <title>{format!("Link n{} – n{}: click for cut, heal, latency and loss", a + 1, b + 1)}</title>
                    </line>
                });
            }
        }
    }
    for (from, to, link) in props.links.iter() {
        let (a, b) = (props.places[from.index()], props.places[to.index()]);
        let ((x1, y1), (x2, y2)) = layout::lane(a, b);
        let class = if link.cut {
            "lane lane-cut"
        } else {
            "lane lane-tuned"
        };
        let what = if link.cut {
            "cut"
        } else {
            "has its own latency or loss"
        };
        lines.push(html! {
            <line class={class} x1={fmt(x1)} y1={fmt(y1)} x2={fmt(x2)} y2={fmt(y2)} marker-end="url(#arrow)"
                onclick={menu(from.index(), to.index())} oncontextmenu={menu(from.index(), to.index())}>
                <title>{format!("{from} → {to} {what}")}</title>
            </line>
        });
    }
    html! {
        <g class="links">
            <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" />
                </marker>
            </defs>
            { for lines }
        </g>
    }
}

#[derive(Properties, PartialEq)]
struct NodeProps {
    info: NodeInfo,
    strip: Option<Vec<Cell>>,
    place: Place,
    selected: bool,
    highlighted: bool,
    on_select: Callback<NodeId>,
    on_menu: Callback<(MenuTarget, i32, i32)>,
}

/// One node: its role colour, label and badges, and how it is doing.
#[function_component(NodeWidget)]
fn node_widget(props: &NodeProps) -> Html {
    let info = &props.info;
    let p = props.place;
    let id = info.id;
    let health = info.conditions.health;
    let role = info
        .scene
        .as_ref()
        .map(|s| s.role.clone())
        .unwrap_or_default();
    let mut class = classes!("node", format!("kind-{}", kind_name(info.kind)));
    class.push(match health {
        Health::Up => "up",
        Health::Crashed => "crashed",
        Health::Paused => "paused",
    });
    if props.selected {
        class.push("selected");
    }
    if props.highlighted {
        class.push("highlighted");
    }
    if info.conditions.slowdown.0 != 1_000 {
        class.push("slowed");
    }
    let onclick = {
        let (on_select, on_menu) = (props.on_select.clone(), props.on_menu.clone());
        Callback::from(move |e: MouseEvent| {
            on_select.emit(id);
            on_menu.emit((MenuTarget::Node(id), e.client_x(), e.client_y()));
        })
    };
    let oncontextmenu = {
        let (on_select, on_menu) = (props.on_select.clone(), props.on_menu.clone());
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            on_select.emit(id);
            on_menu.emit((MenuTarget::Node(id), e.client_x(), e.client_y()));
        })
    };
    let onkeydown = {
        let (on_select, on_menu) = (props.on_select.clone(), props.on_menu.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                e.stop_propagation();
                on_select.emit(id);
                let (x, y) = e
                    .target_dyn_into::<web_sys::Element>()
                    .map(|el| {
                        let r = el.get_bounding_client_rect();
                        (
                            (r.left() + r.width()) as i32,
                            (r.top() + r.height() / 2.0) as i32,
                        )
                    })
                    .unwrap_or((0, 0));
                on_menu.emit((MenuTarget::Node(id), x, y));
            }
        })
    };
    let label = info
        .scene
        .as_ref()
        .map(|s| s.label.clone())
        .unwrap_or_else(|| id.to_string());
    let status = match health {
        Health::Up => role.clone(),
        Health::Crashed => "crashed".into(),
        Health::Paused => "paused".into(),
    };
    let badges: Vec<(String, &'static str)> = {
        let mut b: Vec<(String, &'static str)> = info
            .scene
            .as_ref()
            .map(|s| s.badges.iter().map(|b| (b.text.clone(), b.tone)).collect())
            .unwrap_or_default();
        if info.conditions.slowdown.0 != 1_000 {
            b.push((format!("slow {}", info.conditions.slowdown), "fault"));
        }
        if info.conditions.clock_rate.0 != 1_000 {
            b.push((format!("clock {}", info.conditions.clock_rate), "fault"));
        }
        b
    };
    let accessible = format!(
        "{label}, {}{}. Press Enter for actions.",
        if status.is_empty() {
            kind_name(info.kind).to_string()
        } else {
            status.clone()
        },
        badges
            .iter()
            .map(|(t, _)| format!(", {t}"))
            .collect::<String>()
    );
    let font = (p.r * 0.42).clamp(9.0, 17.0);
    html! {
        <g class={class} data-role={role.clone()} data-node={id.0.to_string()} transform={format!("translate({} {})", fmt(p.x), fmt(p.y))}
            tabindex="0" role="button" aria-label={accessible} {onclick} {oncontextmenu} {onkeydown}>
            <title>{format!("{label}: {}", if status.is_empty() { kind_name(info.kind) } else { &status })}</title>
            <circle class="node-halo" r={fmt(p.r + 7.0)} />
            <circle class="node-body" r={fmt(p.r)} />
            <text class="node-label" y={fmt(-font * 0.15)} font-size={fmt(font)}>{label}</text>
            <text class="node-role" y={fmt(font * 0.95)} font-size={fmt(font * 0.62)}>{status}</text>
            if health == Health::Crashed {
                <path class="node-cross" d={format!("M{a},{a} L{b},{b} M{a},{b} L{b},{a}", a = fmt(-p.r * 0.55), b = fmt(p.r * 0.55))} />
            }
            if health == Health::Paused {
                <g class="node-pause"><rect x={fmt(-p.r * 0.35)} y={fmt(-p.r - 14.0)} width="5" height="10" /><rect x={fmt(-p.r * 0.35 + 8.0)} y={fmt(-p.r - 14.0)} width="5" height="10" /></g>
            }
            if let Some(cells) = &props.strip {
                { strip_html(cells, p, badges.len()) }
            }
            { for badges.iter().enumerate().map(|(k, (text, tone))| {
                let y = p.r + 16.0 + k as f64 * 15.0;
                html! {
                    <g class={classes!("badge", format!("tone-{tone}"))} transform={format!("translate(0 {})", fmt(y))}>
                        <rect x={fmt(-(text.len() as f64) * 3.4 - 6.0)} y="-9" width={fmt(text.len() as f64 * 6.8 + 12.0)} height="15" rx="7" />
                        <text y="2.5">{text.clone()}</text>
                    </g>
                }
            }) }
        </g>
    }
}

/// The compact strip under a node: small cells left to right, oldest first.
fn strip_html(cells: &[Cell], p: Place, badges: usize) -> Html {
    let w = (p.r * 2.6 / cells.len().max(4) as f64).clamp(7.0, 14.0);
    let total = w * cells.len() as f64;
    let y = p.r + 12.0 + badges as f64 * 15.0;
    html! {
        <g class="strip" transform={format!("translate({} {})", fmt(-total / 2.0), fmt(y))}>
            { for cells.iter().enumerate().map(|(k, c)| html! {
                <g class={classes!("cell", format!("cell-{}", c.tone))} transform={format!("translate({} 0)", fmt(k as f64 * w))}>
                    <title>{c.title.clone()}</title>
                    <rect width={fmt(w - 1.0)} height="13" rx="2" />
                    <text x={fmt((w - 1.0) / 2.0)} y="9.8">{c.text.clone()}</text>
                </g>
            }) }
        </g>
    }
}

/// What does not change while a message flies: drawn once per set of
/// messages (a step), not once per frame.
struct Flight {
    id: MsgId,
    class: Classes,
    kind: &'static str,
    tip: String,
    duplicate: bool,
    lost: bool,
    sent: Time,
    arrives: Time,
    from: Place,
    to: Place,
    onclick: Callback<MouseEvent>,
    /// The element it is drawn as.
    node: NodeRef,
    /// Where it was last written, in half stage units.
    at: std::cell::Cell<Option<(i32, i32)>>,
}

fn flight(
    m: &MessageView,
    colours: &'static [(&'static str, u8)],
    places: &[Place],
    on_drop: &Callback<MsgId>,
) -> Flight {
    let lost = matches!(m.fate, Fate::Lost(_));
    let mut class = classes!("msg", format!("c{}", colour_index(colours, m.kind)));
    if m.is_reply {
        class.push("reply");
    }
    if lost {
        class.push("lost");
    }
    if m.duplicate_of.is_some() {
        class.push("dup");
    }
    let id = m.id;
    let on_drop = on_drop.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        e.stop_propagation();
        on_drop.emit(id)
    });
    let tip = format!(
        "{} {} from {} to {}{}{}. Click to drop it.",
        m.kind,
        m.id,
        m.from,
        m.to,
        if m.is_reply { " (reply)" } else { "" },
        match m.fate {
            Fate::Lost(r) => format!(", {r}"),
            Fate::Delivering => String::new(),
        },
    );
    Flight {
        id,
        class,
        kind: m.kind,
        tip,
        duplicate: m.duplicate_of.is_some(),
        lost,
        sent: m.sent,
        arrives: m.arrives,
        from: places[m.from.index()],
        to: places[m.to.index()],
        onclick,
        node: NodeRef::default(),
        at: std::cell::Cell::new(None),
    }
}

impl Flight {
    /// Where it is drawn at progress `t` along its path.
    fn point(&self, t: f64) -> (f64, f64) {
        let (x, y) = layout::message_point(self.from, self.to, t);
        // A lost message falls away over the last part of its path.
        let fall = if self.lost && t > 0.5 {
            (t - 0.5) * 60.0
        } else {
            0.0
        };
        (x, y + fall)
    }
}

/// The message list and the places, compared by identity (they are shared
/// from one step to the next), to memoize the flights on.
struct Same(Rc<Vec<MessageView>>, Rc<Vec<Place>>);

impl PartialEq for Same {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0) && Rc::ptr_eq(&self.1, &other.1)
    }
}

/// The palette slot (0 to 11) of a message kind: the protocol's choice, or a
/// stable hash of the name for a kind it does not list.
pub fn colour_index(colours: &[(&str, u8)], kind: &str) -> u32 {
    colours
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| u32::from(*c))
        .unwrap_or_else(|| {
            kind.bytes().fold(2_166_136_261u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(16_777_619)
            }) % 12
        })
}

pub fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Server => "server",
        NodeKind::Client => "client",
        NodeKind::Producer => "producer",
        NodeKind::Consumer => "consumer",
    }
}

/// SVG numbers with one decimal: enough for the eye, and far less text.
fn fmt(x: f64) -> String {
    fixed(x, 1)
}
