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
    on_drop: Callback<MsgId>,
}

/// Everything that moves with time alone: the countdown rings and the
/// messages, on their own composited layer (see .stage-live in the
/// stylesheet). The layer renders when the set of messages or the nodes
/// change (a step); between steps its painter (see `live.rs`) only writes
/// the transform of each message that moved by half a unit and the dash of
/// each ring whose share changed, straight into the elements.
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
                node: NodeRef::default(),
                last: std::cell::Cell::new(-1),
            })
        })
        .collect();
    let html = html! {
        // Sized and centred exactly as the stage's SVG draws its viewBox
        // (see .stage-live in the stylesheet), so its percentages are stage
        // units.
        <div class="stage-live">
            <svg class="countdowns" viewBox={format!("0 0 {} {}", fixed(WIDTH, 0), fixed(HEIGHT, 0))} aria-hidden="true">
                { for rings.iter().map(|ring| {
                    let p = ring.place;
                    let r = p.r + 3.5;
                    html! {
                        <circle key={ring.id} ref={ring.node.clone()} class="countdown" cx={fmt(p.x)} cy={fmt(p.y)} r={fmt(r)}
                            transform={format!("rotate(-90 {} {})", fmt(p.x), fmt(p.y))} />
                    }
                }) }
            </svg>
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
        // A render, or a frame that rewrites text, updates the rings too.
        d.paint(paint.moment.now, paint.text);
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
    node: NodeRef,
    /// The share left last written, in two-hundredths (-1: none yet).
    last: std::cell::Cell<i32>,
}

/// What the live layer's last render drew, for its painter.
#[derive(Default)]
struct Drawn {
    messages: Rc<Vec<MessageView>>,
    flights: Rc<Vec<Flight>>,
    rings: Vec<Ring>,
    reduced_motion: bool,
    /// Frames since the rings were last looked at (see `paint`).
    ring_wait: std::cell::Cell<u8>,
}

/// A frame (other than a render or a text frame, see `live::Paint::text`)
/// updates the rings only if this many frames passed since they were last
/// updated: a ring drains slowly, about 20 updates a second look the same
/// as 60, and each ring written costs the browser style and paint work (a
/// frame that changes nothing else costs a whole style, paint and commit
/// pass). A/B in one run: main busy 14.0 -> 13.5 % at 5 servers, 18.3 ->
/// 14.8 % at 9.
const RING_FRAMES: u8 = 3;

impl Drawn {
    /// Moves every message and ring to `now`, writing only what changed.
    fn paint(&self, now: Time, rings_now: bool) {
        for f in self.flights.iter() {
            let mut t = layout::progress(f.sent, f.arrives, now);
            if self.reduced_motion {
                // Jump in quarters rather than glide.
                t = (t * 4.0).floor() / 4.0;
            }
            let (x, y) = layout::message_point(f.from, f.to, t);
            // A lost message falls away over the last part of its path.
            let fall = if f.lost && t > 0.5 {
                (t - 0.5) * 60.0
            } else {
                0.0
            };
            // In half units (under half a pixel on a laptop screen): a slow
            // message is written again only when it moved that far.
            let at = ((x * 2.0).round() as i32, ((y + fall) * 2.0).round() as i32);
            if f.at.get() != Some(at) {
                if let Some(el) = f.node.cast::<web_sys::Element>() {
                    // Half units as percent of the envelope's own size
                    // (16 x 11 stage units).
                    let _ = el.set_attribute(
                        "style",
                        &format!(
                            "transform: translate({}%, {}%)",
                            fixed(f64::from(at.0) / 2.0 / 16.0 * 100.0, 2),
                            fixed(f64::from(at.1) / 2.0 / 11.0 * 100.0, 2)
                        ),
                    );
                    f.at.set(Some(at));
                }
            }
        }
        let wait = self.ring_wait.get().saturating_add(1);
        if !rings_now && wait < RING_FRAMES {
            self.ring_wait.set(wait);
            return;
        }
        self.ring_wait.set(0);
        for ring in &self.rings {
            // Rounded so that a ring is rewritten at most 200 times per
            // timeout.
            let left = ((1.0 - layout::progress(ring.set, ring.fires, now)) * 200.0).round() as i32;
            if ring.last.get() != left {
                if let Some(el) = ring.node.cast::<web_sys::Element>() {
                    let circumference = std::f64::consts::TAU * (ring.place.r + 3.5);
                    let _ = el.set_attribute(
                        "stroke-dasharray",
                        &format!(
                            "{} {}",
                            fmt(circumference * f64::from(left) / 200.0),
                            fmt(circumference)
                        ),
                    );
                    ring.last.set(left);
                }
            }
        }
    }
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
