//! The root component: the page, the animation loop, keyboard shortcuts and
//! the link in the address bar.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use sim::{Input, NodeId, NodeInfo, Time};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use clusterscope::layout;
use clusterscope::share::{Embed, Shared};

use crate::catalog::{self, Setup};
use crate::components::checkers::CheckerPanel;
use crate::components::controls::ControlsBar;
use crate::components::events::EventLog;
use crate::components::header::Header;
use crate::components::help::HelpDialog;
use crate::components::inspector::Inspector;
use crate::components::menu::{ActionMenu, PartitionTool};
use crate::components::settings::SettingsPanel;
use crate::components::share::ShareDialog;
use crate::components::stage::{MenuTarget, Stage};
use crate::components::timeline::TimelineBar;
use crate::lab::{Action, Lab, LabHandle, Notice, Tone};
use crate::live::{Cause, Moment, Ticker, TickerHandle};
use crate::opening::Opening;

/// How many event-log lines the panel shows.
const LOG_LINES: usize = 200;

/// How long the first paint may wait for the page's own link to replay;
/// a longer replay goes on in slices behind a progress bar.
const FIRST_PAINT_MS: f64 = 150.0;

/// How long one slice of a link's replay may take, so that the page
/// stays responsive while it opens.
const SLICE_MS: f64 = 30.0;

/// Events replayed between two looks at the clock within a slice.
const EVENTS_PER_LOOK: u64 = 500;

/// A replay shorter than this shows no progress bar.
const QUIET_MS: f64 = 200.0;

thread_local! {
    /// The page's own link, when it did not replay in time for the first
    /// paint: the opener picks it up once the page is mounted.
    static STILL_OPENING: RefCell<Option<Job>> = const { RefCell::new(None) };
}

/// The run the page starts with: the link's, or the default one. A link
/// that takes longer than [`FIRST_PAINT_MS`] to replay starts the page on
/// the default run and goes on opening behind a progress bar.
fn initial_lab() -> Lab {
    let hash = gloo::utils::window().location().hash().unwrap_or_default();
    let fragment = hash.trim_start_matches('#');
    let default = || Lab::new(Setup::default()).expect("the default setup builds");
    let fallback = |reason: String| {
        let mut lab = default();
        lab.notice = Some(Notice {
            tone: Tone::Error,
            text: format!("{reason} Showing the default run instead."),
        });
        lab
    };
    if fragment.is_empty() {
        return default();
    }
    let shared = match Shared::decode(fragment) {
        Ok(shared) => shared,
        Err(e) => {
            return fallback(format!(
                "This link could not be read: {}.",
                crate::lab::capitalise(&e.to_string())
            ))
        }
    };
    // A bundled scenario, opened by a reload into the download that runs
    // it, says so as it does when opened in place.
    let notice = crate::scenarios::all()
        .into_iter()
        .find(|s| s.fragment == fragment)
        .map(|s| s.notice());
    let mut job = match Opening::start(&shared) {
        Ok(opening) => Job {
            id: 0,
            opening,
            started: crate::lab::wall_now().unwrap_or(0.0),
            notice,
            kept: "Showing the default run instead.",
        },
        Err(e) => return fallback(format!("This link could not be opened: {e}")),
    };
    match job.run_for(FIRST_PAINT_MS) {
        Ok(true) => job.finish(),
        Ok(false) => {
            STILL_OPENING.with(|s| *s.borrow_mut() = Some(job));
            default()
        }
        Err(e) => fallback(format!("This link could not be opened: {e}")),
    }
}

/// A link being opened in slices ([`Opening`]).
struct Job {
    /// Which job this is: a newer link replaces an older one still opening.
    id: u64,
    opening: Opening,
    /// When it started (the page's clock, ms).
    started: f64,
    /// A notice to show once open, unless the link brings its own.
    notice: Option<Notice>,
    /// What the page shows if it fails: the current run, or the default.
    kept: &'static str,
}

impl Job {
    /// Replays for about `ms` of wall time: whether it is done, or why the
    /// link cannot be opened.
    fn run_for(&mut self, ms: f64) -> Result<bool, String> {
        let until = crate::lab::wall_now().unwrap_or(0.0) + ms;
        loop {
            if self.opening.advance(EVENTS_PER_LOOK)? {
                return Ok(true);
            }
            if crate::lab::wall_now().unwrap_or(f64::MAX) >= until {
                return Ok(false);
            }
        }
    }

    fn finish(self) -> Lab {
        let mut lab = self.opening.finish();
        if lab.notice.is_none() {
            lab.notice = self.notice;
        }
        lab
    }
}

/// Opens links in slices between which the page paints and answers, with a
/// progress bar (after [`QUIET_MS`]) and Cancel. The current run stays
/// until the link has replayed; a link that fails leaves it.
#[derive(Clone)]
struct Opener {
    job: Rc<RefCell<Option<Job>>>,
    next_id: Rc<RefCell<u64>>,
    /// The progress shown, from 0 to 1, while a slow link opens.
    shown: UseStateHandle<Option<f64>>,
    dispatcher: UseReducerDispatcher<Lab>,
}

impl Opener {
    /// Starts opening `opening`, replacing any link still opening.
    fn start(&self, opening: Opening, kept: &'static str) {
        let id = *self.next_id.borrow() + 1;
        *self.next_id.borrow_mut() = id;
        self.resume(Job {
            id,
            opening,
            started: crate::lab::wall_now().unwrap_or(0.0),
            notice: None,
            kept,
        });
    }

    fn resume(&self, job: Job) {
        let id = job.id;
        *self.job.borrow_mut() = Some(job);
        self.schedule(id);
    }

    /// Stops opening, keeping the current run.
    fn cancel(&self) {
        if self.job.borrow_mut().take().is_some() {
            self.shown.set(None);
            self.dispatcher.dispatch(Action::Notify(Notice {
                tone: Tone::Info,
                text: "Stopped opening the link; the current run is kept.".into(),
            }));
        }
    }

    fn schedule(&self, id: u64) {
        let opener = self.clone();
        let tick = Closure::once_into_js(move || opener.tick(id));
        let _ = gloo::utils::window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(tick.unchecked_ref(), 0);
    }

    fn tick(&self, id: u64) {
        let mut slot = self.job.borrow_mut();
        let Some(job) = slot.as_mut().filter(|j| j.id == id) else {
            return;
        };
        match job.run_for(SLICE_MS) {
            Ok(false) => {
                if crate::lab::wall_now().unwrap_or(0.0) - job.started >= QUIET_MS {
                    self.shown.set(Some(job.opening.progress()));
                }
                drop(slot);
                self.schedule(id);
            }
            Ok(true) => {
                let job = slot.take().expect("checked above");
                drop(slot);
                self.shown.set(None);
                self.dispatcher
                    .dispatch(Action::Open(Box::new(job.finish())));
            }
            Err(e) => {
                let kept = job.kept;
                *slot = None;
                drop(slot);
                self.shown.set(None);
                self.dispatcher.dispatch(Action::Notify(Notice {
                    tone: Tone::Error,
                    text: format!("This link could not be opened: {e} {kept}"),
                }));
            }
        }
    }
}

/// The page's [`Opener`]; picks up the page's own link if it did not
/// replay in time for the first paint.
#[hook]
fn use_opener(lab: &LabHandle) -> Opener {
    let opener = Opener {
        job: use_mut_ref(|| None),
        next_id: use_mut_ref(|| 0),
        shown: use_state(|| None),
        dispatcher: lab.dispatcher(),
    };
    {
        let opener = opener.clone();
        use_effect_with((), move |_| {
            if let Some(job) = STILL_OPENING.with(|s| s.borrow_mut().take()) {
                opener.resume(job);
            }
        });
    }
    opener
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Inspector,
    Events,
    Checkers,
    Settings,
}

#[function_component(App)]
pub fn app() -> Html {
    let lab = use_reducer(initial_lab);
    let help_open = use_state(|| false);
    let partition_open = use_state(|| false);
    let share_open = use_state(|| false);
    let menu = use_state(|| None::<(MenuTarget, i32, i32)>);
    let tab = use_state(|| Tab::Inspector);
    let reduced_motion = use_state(|| media_matches("(prefers-reduced-motion: reduce)"));

    // What moves with time alone goes to the painters of the few components
    // that draw it (live.rs); the animation loop publishes it, and so does
    // every render.
    let ticker = {
        let run = lab.run.clone();
        use_memo((), move |_| {
            TickerHandle(Rc::new(Ticker::new(Moment::of(
                address(&run),
                &**run.borrow(),
            ))))
        })
    };
    if let (true, Some(wall)) = (lab.playing, lab.wake.get()) {
        // An action may have caught the run up with the wall clock.
        ticker.0.tie(wall);
    }
    ticker
        .0
        .publish(address(&lab.run), &**lab.run.borrow(), Cause::Render);

    use_animation_loop(&lab, &ticker);
    use_auto_pause_when_hidden(&lab);
    use_link_in_address_bar(&lab);
    let opener = use_opener(&lab);
    use_open_pasted_links(&lab, &opener);
    use_keyboard(&lab, &help_open, &menu, &partition_open, &share_open);

    // What changes only when the world does. The world changes only by
    // taking a step (inputs are steps too) or by being replaced, so between
    // two renders with the same run and the same step count only the clock
    // moved: the snapshot is reused and only what moves is redrawn.
    let key = (address(&lab.run), lab.run.borrow().steps(), lab.selected);
    let snap = {
        let run = lab.run.clone();
        use_memo(key, move |&(_, _, selected)| {
            Snapshot::of(&**run.borrow(), selected)
        })
    };
    let run = lab.run.borrow();
    let n = snap.nodes.len();
    let colours = run.message_colours();
    let menu_node = menu.and_then(|(t, _, _)| match t {
        MenuTarget::Node(id) => Some(run.node(id)),
        MenuTarget::Link(..) => None,
    });
    let menu_actions = menu.and_then(|(t, _, _)| match t {
        MenuTarget::Node(id) => Some(run.node_actions(id)),
        MenuTarget::Link(..) => None,
    });
    let defaults = run.network_defaults();
    let steps = run.steps();
    let summary = catalog::run_summary(&lab.setup);
    drop(run);
    let nodes = snap.nodes.clone();
    let places = snap.places.clone();
    let links = snap.links.clone();
    let timeline = snap.timeline.clone();
    let strips = snap.strips.clone();
    let rules = snap.rules.clone();
    let selected_info = snap.selected_info.clone();
    let detail = snap.detail.clone();

    let dispatch = |make: fn() -> Action| send::<()>(&lab, make);
    let on_input = {
        let lab = lab.clone();
        Callback::from(move |i: Input<String>| lab.dispatch(Action::Apply(i)))
    };
    // Callbacks handed to components that re-render only when their props
    // change are made once (they capture only the reducer's dispatcher and
    // state setters, which never change): a fresh callback on every render
    // would re-render every node widget and the timeline at every step.
    let on_select = {
        let (dispatcher, tab) = (lab.dispatcher(), tab.setter());
        use_callback((), move |id: NodeId, _| {
            dispatcher.dispatch(Action::Select(Some(id)));
            tab.set(Tab::Inspector);
        })
    };
    let on_menu = {
        let menu = menu.setter();
        use_callback((), move |m: (MenuTarget, i32, i32), _| menu.set(Some(m)))
    };
    let close_menu = {
        let menu = menu.clone();
        Callback::from(move |_| menu.set(None))
    };
    let on_drop_message = {
        let dispatcher = lab.dispatcher();
        use_callback((), move |id, _| {
            dispatcher.dispatch(Action::Apply(Input::DropMessage(id)))
        })
    };
    let on_seek = {
        let dispatcher = lab.dispatcher();
        use_callback((), move |t: Time, _| dispatcher.dispatch(Action::Seek(t)))
    };
    let on_jump = {
        let dispatcher = lab.dispatcher();
        use_callback((), move |step: u64, _| {
            dispatcher.dispatch(Action::SeekStep(step))
        })
    };
    let on_speed = {
        let lab = lab.clone();
        Callback::from(move |s: f64| lab.dispatch(Action::SetSpeed(s)))
    };
    let on_scenario = {
        let lab = lab.clone();
        Callback::from(move |(protocol, toggle): (String, String)| {
            let scenario = crate::scenarios::find(&protocol, &toggle);
            if let Some(s) = scenario.as_ref().filter(|s| !catalog::compiled(s.protocol)) {
                reload_with(s.fragment);
                return;
            }
            let opened = scenario
                .ok_or_else(|| format!("There is no scenario for the toggle {toggle}."))
                .and_then(|s| s.open());
            match opened {
                Ok(fresh) => lab.dispatch(Action::Open(Box::new(fresh))),
                Err(text) => lab.dispatch(Action::Notify(Notice {
                    tone: Tone::Error,
                    text,
                })),
            }
        })
    };
    let on_apply_settings = {
        let lab = lab.clone();
        Callback::from(move |s: Setup| {
            if !catalog::compiled(&s.protocol) {
                reload_with(&s.to_shared(Vec::new(), Time::ZERO, None, None).encode());
                return;
            }
            lab.dispatch(Action::Load(Box::new(s)))
        })
    };

    let embed = lab.embed.clone();
    let log_lines = if *tab == Tab::Events && embed.is_none() {
        Rc::new(lab.run.borrow_mut().recent_log(LOG_LINES))
    } else {
        Rc::new(Vec::new())
    };
    let violations_later = Rc::new(timeline.violations.clone());
    let liveness_later = Rc::new(timeline.liveness.clone());
    let violations_now = snap.violations.clone();

    let notice = lab.notice.clone().map(|n| {
        let class = match n.tone {
            Tone::Info => "notice notice-info",
            Tone::Error => "notice notice-error",
            Tone::Violation => "notice notice-violation",
            Tone::Liveness => "notice notice-liveness",
        };
        html! {
            <div class={class} role={if n.tone == Tone::Info { "status" } else { "alert" }}>
                <span class="notice-text">{n.text}</span>
                <button type="button" class="notice-close" aria-label="Dismiss" onclick={send::<MouseEvent>(&lab, || Action::Dismiss)}>{"×"}</button>
            </div>
        }
    });

    let opening = opener.shown.map(|p| {
        let percent = (p * 100.0).floor() as u32;
        let cancel = {
            let opener = opener.clone();
            Callback::from(move |_: MouseEvent| opener.cancel())
        };
        html! {
            <div class="notice notice-info notice-opening" role="status">
                <span class="notice-text">{format!("Opening the link: replaying its run, {percent} %")}</span>
                <progress max="100" value={percent.to_string()} aria-label="Replaying the link's run"></progress>
                <button type="button" class="button" onclick={cancel}>{"Cancel"}</button>
            </div>
        }
    });

    let stage = html! {
        <Stage
            nodes={nodes.clone()}
            strips={strips}
            colours={colours}
            places={places}
            links={links}
            selected={lab.selected}
            highlight={lab.highlight.clone()}
            reduced_motion={*reduced_motion}
            playing={lab.playing.then_some(lab.speed)}
            on_select={on_select}
            on_menu={on_menu}
            on_drop_message={on_drop_message}
        />
    };
    let controls = html! {
        <ControlsBar
            playing={lab.playing}
            speed={lab.speed}
            at_start={steps == 0}
            only={embed.as_ref().filter(|e| !e.controls.is_empty()).map(|e| e.controls.clone())}
            on_toggle_play={dispatch(|| Action::TogglePlay)}
            on_step={dispatch(|| Action::Step)}
            on_step_back={dispatch(|| Action::StepBack)}
            on_next_round={dispatch(|| Action::NextRound)}
            on_speed={on_speed}
            on_request={dispatch(|| Action::Request(None))}
            on_heal_all={{ let on_input = on_input.clone(); Callback::from(move |_| on_input.emit(Input::HealAll)) }}
            on_drain={dispatch(|| Action::Drain)}
        />
    };
    let timeline_bar = html! { <TimelineBar data={timeline} on_seek={on_seek} /> };

    if embed.is_some() {
        // The same moment, full page, in a new tab.
        let full = format!("./#{}", lab.share(None).encode());
        return html! {
            <ContextProvider<TickerHandle> context={(*ticker).clone()}>
            <div class="shell embed">
                <div class="notice-slot">{ opening.clone().unwrap_or_default() }{ notice.clone().unwrap_or_default() }</div>
                <main class="workspace">{ stage }</main>
                { timeline_bar }
                <div class="embed-controls">
                    { controls }
                    <a class="embed-open" href={full} target="_blank" rel="noopener">{"Open in Clusterscope"}</a>
                </div>
            </div>
            </ContextProvider<TickerHandle>>
        };
    }

    let tab_button = |t: Tab, label: &'static str| {
        let tab = tab.clone();
        html! {
            <button type="button" role="tab" class={classes!("tab", (*tab == t).then_some("active"))} aria-selected={(*tab == t).to_string()}
                onclick={Callback::from(move |_: MouseEvent| tab.set(t))}>{label}
                                if t == Tab::Checkers && !violations_now.is_empty() { <span class="tab-alert" aria-label="broken">{violations_now.len().to_string()}</span> }
                                if t == Tab::Checkers && !snap.undecided.is_empty() { <span class="tab-undecided" aria-label="undecided" title="A check could not decide within its budget">{"?"}</span> }
            </button>
        }
    };
    html! {
        <ContextProvider<TickerHandle> context={(*ticker).clone()}>
        <div class="shell">
            <Header
                summary={summary}
                on_help={flip(&help_open)}
                on_partition={flip(&partition_open)}
                on_share={flip(&share_open)}
            />
            <div class="notice-slot">{ opening.clone().unwrap_or_default() }{ notice.clone().unwrap_or_default() }</div>
            <main class="workspace">
                <div class="stage-column">
                    { stage }
                    <Legend colours={colours} />
                </div>
                <aside class="side" aria-label="Panels">
                    <div class="tabs" role="tablist">
                        { tab_button(Tab::Inspector, "Inspector") }
                        { tab_button(Tab::Events, "Events") }
                        { tab_button(Tab::Checkers, "Checkers") }
                        { tab_button(Tab::Settings, "Settings") }
                    </div>
                    <div class="tab-body" role="tabpanel">
                        { match *tab {
                            Tab::Inspector => html! { <Inspector info={selected_info} persisted={snap.selected_persisted.clone()} detail={detail} /> },
                            Tab::Events => html! { <EventLog lines={log_lines} node_count={n} current_step={steps} on_jump={on_jump.clone()} /> },
                            Tab::Checkers => html! { <CheckerPanel rules={rules} violations={violations_now.clone()} later={violations_later.clone()} liveness={snap.liveness.clone()} liveness_later={liveness_later.clone()} counters={snap.counters.clone()} undecided={snap.undecided.clone()} on_jump={on_jump.clone()} /> },
                                                        Tab::Settings => html! { <SettingsPanel setup={(*lab.setup).clone()} on_apply={on_apply_settings} on_scenario={on_scenario} /> },
                        } }
                    </div>
                </aside>
            </main>
            { timeline_bar }
            { controls }
            if let (Some((target, x, y)), Some(actions)) = (*menu, menu_actions.clone().or(Some(Vec::new()))) {
                <ActionMenu target={target} x={x} y={y} node={menu_node} actions={actions} defaults={defaults} on_input={on_input.clone()} on_close={close_menu} />
            }
            if *partition_open {
                <PartitionTool node_count={n} on_input={on_input.clone()} on_close={flip(&partition_open)} />
            }
            if *share_open {
                <ShareDialog lab={lab.clone()} on_close={flip(&share_open)} />
            }
            if *help_open {
                <HelpDialog on_close={flip(&help_open)} />
            }
        </div>
        </ContextProvider<TickerHandle>>
    }
}

/// A callback, for any event type, that dispatches one action.
fn send<E: 'static>(lab: &LabHandle, make: fn() -> Action) -> Callback<E> {
    let lab = lab.clone();
    Callback::from(move |_: E| lab.dispatch(make()))
}

/// A callback, for any event type, that flips a boolean state.
fn flip<E: 'static>(state: &UseStateHandle<bool>) -> Callback<E> {
    let state = state.clone();
    Callback::from(move |_: E| state.set(!*state))
}

/// Everything drawn from the world that does not change with time alone.
struct Snapshot {
    nodes: Rc<Vec<NodeInfo>>,
    places: Rc<Vec<layout::Place>>,
    links: Rc<Vec<(NodeId, NodeId, sim::Link)>>,
    timeline: Rc<sim::Timeline>,
    strips: Rc<Vec<Option<Vec<crate::views::Cell>>>>,
    rules: Rc<Vec<sim::Rule>>,
    violations: Rc<Vec<sim::Violation>>,
    liveness: Option<Rc<sim::LivenessState>>,
    counters: Rc<Vec<(&'static str, u64)>>,
    undecided: Rc<Vec<sim::Undecided>>,
    selected_info: Option<NodeInfo>,
    selected_persisted: Option<String>,
    detail: Html,
}

impl Snapshot {
    fn of(run: &dyn sim::AnySim, selected: Option<NodeId>) -> Snapshot {
        let n = run.node_count();
        let nodes: Vec<NodeInfo> = (0..n as u32).map(|i| run.node(NodeId(i))).collect();
        let places = layout::place_nodes(&nodes.iter().map(|i| i.kind).collect::<Vec<_>>());
        let selected = selected.filter(|s| s.index() < n);
        Snapshot {
            places: Rc::new(places),
            links: Rc::new(run.unusual_links()),
            timeline: Rc::new(run.timeline().clone()),
            strips: Rc::new(
                (0..n as u32)
                    .map(|i| crate::views::strip(run, NodeId(i)))
                    .collect(),
            ),
            rules: Rc::new(run.rules()),
            violations: Rc::new(run.violations().to_vec()),
            liveness: run.liveness().map(|l| Rc::new(l.clone())),
            counters: Rc::new(run.counters()),
            undecided: Rc::new(run.undecided()),
            selected_info: selected.map(|s| nodes[s.index()].clone()),
            selected_persisted: selected.and_then(|s| run.persisted(s)),
            detail: selected
                .map(|s| crate::views::detail(run, s))
                .unwrap_or_default(),
            nodes: Rc::new(nodes),
        }
    }
}

#[derive(Properties, PartialEq)]
struct LegendProps {
    colours: &'static [(&'static str, u8)],
}

/// Which colour is which message kind. Requests are filled; replies hollow.
#[function_component(Legend)]
fn legend(props: &LegendProps) -> Html {
    // One entry per colour, named by the first kind listed for it (the
    // request; its reply shares the colour and is drawn hollow).
    let mut seen: Vec<(String, u8)> = Vec::new();
    for (kind, slot) in props.colours {
        if !seen.iter().any(|(_, s)| s == slot) {
            seen.push((kind.to_string(), *slot));
        }
    }
    html! {
        <ul class="legend-list" aria-label="Message colours">
            { for seen.iter().map(|(k, s)| html! { <li><span class={format!("swatch c{s}")} />{k.clone()}</li> }) }
            <li><span class="swatch reply-swatch" />{"reply"}</li>
            <li><span class="swatch lost-swatch" />{"lost"}</li>
        </ul>
    }
}

/// The address of a run: tells runs apart, for memos and moments.
fn address(run: &Rc<RefCell<Box<dyn sim::AnySim>>>) -> usize {
    Rc::as_ptr(run) as *const () as usize
}

/// The longest the loop sleeps while playing, in wall milliseconds: the
/// clock and the timeline cursor move at least this often (as often as
/// `live::TEXT_EVERY_MS` rewrites text); messages and countdown rings move
/// on the compositor in between.
const WAKE_MS: f64 = crate::live::TEXT_EVERY_MS;

/// A wake due sooner than this (wall milliseconds) is simply the next
/// animation frame; a later one sleeps in a timer until just before it.
const NEAR_MS: f64 = 25.0;

/// Plays the run, and does nothing at all while paused: a paused tab costs
/// no CPU.
///
/// While playing it wakes only when there is something to draw: in the
/// animation frame of the run's next event, and at least every
/// [`WAKE_MS`]. Each wake moves the run's clock by the wall time since the
/// last one. A wake that takes a step re-renders the page (the reducer
/// returns a new state); one that only moves the clock publishes the new
/// moment, and only the painters of what draws time run: no component
/// renders. Messages move between wakes on the compositor (see the stage's
/// `Flying`): an animation frame requested by the page, even one that
/// changes nothing, costs the browser a style and commit pass, 60 times a
/// second.
#[hook]
fn use_animation_loop(lab: &LabHandle, ticker: &TickerHandle) {
    let dispatcher = lab.dispatcher();
    let run = lab.run.clone();
    let ticker = ticker.clone();
    // Read at each wake, so a new speed does not restart the loop (which
    // would lose the wall time since the last wake).
    let speed = use_mut_ref(|| lab.speed);
    *speed.borrow_mut() = lab.speed;
    let wake = lab.wake.clone();
    let wake_at_stop = lab.wake.clone();
    use_effect_with((lab.playing, address(&lab.run)), move |&(playing, _)| {
        /// One callback for frames and one for timers, re-requested at
        /// each wake (no new closure per wake), and what is pending,
        /// cancelled on drop.
        type FrameCallback = Closure<dyn FnMut(f64)>;
        type TimerCallback = Closure<dyn FnMut()>;
        #[derive(Default)]
        struct Loop {
            frame: RefCell<Option<FrameCallback>>,
            timer: RefCell<Option<TimerCallback>>,
            pending_frame: Cell<Option<i32>>,
            pending_timer: Cell<Option<i32>>,
        }
        fn request_frame(state: &Loop) {
            if let Some(callback) = state.frame.borrow().as_ref() {
                let id = gloo::utils::window()
                    .request_animation_frame(callback.as_ref().unchecked_ref())
                    .ok();
                state.pending_frame.set(id);
            }
        }
        fn sleep(state: &Loop, wall_ms: f64) {
            if let Some(callback) = state.timer.borrow().as_ref() {
                let id = gloo::utils::window()
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        callback.as_ref().unchecked_ref(),
                        wall_ms as i32,
                    )
                    .ok();
                state.pending_timer.set(id);
            }
        }
        let state = Rc::new(Loop::default());
        if playing {
            // A fresh start: the first frame only ties the run's clock to
            // the wall's (see Lab::wake).
            wake.set(None);
            let wake = wake.clone();
            let weak = Rc::downgrade(&state);
            let frame = FrameCallback::new(move |timestamp: f64| {
                let Some(state) = weak.upgrade() else {
                    return;
                };
                state.pending_frame.set(None);
                if let Some(last) = wake.get() {
                    dispatcher.dispatch(Action::Frame(timestamp - last));
                }
                // The first frame moves nothing, but ties the run's
                // clock to this frame's (see live::Paint::wall).
                ticker
                    .0
                    .publish(address(&run), &**run.borrow(), Cause::Frame(timestamp));
                wake.set(Some(timestamp));
                // The next wake: the run's next event, in wall time
                // from this frame (some of it spent already).
                let next = {
                    let run = run.borrow();
                    let speed = *speed.borrow();
                    run.next_event_time().map_or(f64::INFINITY, |t| {
                        t.0.saturating_sub(run.now().0) as f64 / 1_000.0 / speed
                    })
                };
                let spent = gloo::utils::window()
                    .performance()
                    .map_or(0.0, |p| (p.now() - timestamp).max(0.0));
                let wait = next.min(WAKE_MS) - spent;
                if wait < NEAR_MS {
                    request_frame(&state);
                } else {
                    // Woken a little early, to ask for the frame the
                    // event falls in (a frame before it takes no step
                    // and asks for the next).
                    sleep(&state, wait - 2.0);
                }
            });
            let weak = Rc::downgrade(&state);
            let timer = TimerCallback::new(move || {
                if let Some(state) = weak.upgrade() {
                    state.pending_timer.set(None);
                    request_frame(&state);
                }
            });
            *state.frame.borrow_mut() = Some(frame);
            *state.timer.borrow_mut() = Some(timer);
            request_frame(&state);
        }
        move || {
            let window = gloo::utils::window();
            if let Some(id) = state.pending_frame.take() {
                let _ = window.cancel_animation_frame(id);
            }
            if let Some(id) = state.pending_timer.take() {
                window.clear_timeout_with_handle(id);
            }
            drop(state.frame.borrow_mut().take());
            drop(state.timer.borrow_mut().take());
            wake_at_stop.set(None);
        }
    });
}

/// Pauses when the tab is hidden, so a forgotten tab does not burn CPU.
#[hook]
fn use_auto_pause_when_hidden(lab: &LabHandle) {
    let dispatcher = lab.dispatcher();
    use_effect_with((), move |_| {
        let document = gloo::utils::document();
        let listener = EventListener::new(&document, "visibilitychange", move |_| {
            if gloo::utils::document().hidden() {
                dispatcher.dispatch(Action::Pause);
            }
        });
        move || drop(listener)
    });
}

/// While paused, the address bar holds a link to this exact moment, so a
/// reload (after a crash of the page, say) comes back to it.
///
/// Written in a task of its own right after the render, not in it:
/// `history.replaceState` costs the browser milliseconds, and in the render
/// it delayed the answer to every seek and step back. A newer moment
/// cancels a write still pending.
#[hook]
fn use_link_in_address_bar(lab: &LabHandle) {
    let lab = lab.clone();
    let key = (
        lab.playing,
        lab.version,
        Rc::as_ptr(&lab.run) as *const () as usize,
    );
    use_effect_with(key, move |&(playing, _, _)| {
        let pending: Option<(i32, Closure<dyn FnMut()>)> = if playing {
            None
        } else {
            let fragment = lab.share(lab.embed.clone()).encode();
            let write = Closure::<dyn FnMut()>::new(move || {
                if let Ok(history) = gloo::utils::window().history() {
                    let _ = history.replace_state_with_url(
                        &wasm_bindgen::JsValue::NULL,
                        "",
                        Some(&format!("#{fragment}")),
                    );
                }
            });
            gloo::utils::window()
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    write.as_ref().unchecked_ref(),
                    0,
                )
                .ok()
                .map(|id| (id, write))
        };
        move || {
            if let Some((id, write)) = pending {
                // Harmless if it already ran; then the closure may go.
                gloo::utils::window().clear_timeout_with_handle(id);
                drop(write);
            }
        }
    });
}

/// Opens `fragment`, a link to a protocol this download does not run:
/// the address bar gets the link and the page reloads, and the loader in
/// index.html fetches the download that runs it (see
/// [`catalog::bundle_of`]). The run shown is replaced, as opening any link
/// or applying settings replaces it.
fn reload_with(fragment: &str) {
    let location = gloo::utils::window().location();
    if location.hash().unwrap_or_default().trim_start_matches('#') == fragment {
        let _ = location.reload();
    } else {
        // The hashchange this fires reloads (`use_open_pasted_links`):
        // a reload here as well would abort that one.
        let _ = location.set_hash(fragment);
    }
}

/// A link pasted into the address bar of an open page changes only the
/// fragment: open it (in slices, see [`Opener`]), replacing the run only if
/// it reads and replays.
#[hook]
fn use_open_pasted_links(lab: &LabHandle, opener: &Opener) {
    let dispatcher = lab.dispatcher();
    let opener = opener.clone();
    use_effect_with((), move |_| {
        let listener = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
            let hash = gloo::utils::window().location().hash().unwrap_or_default();
            let fragment = hash.trim_start_matches('#');
            if fragment.is_empty() {
                return;
            }
            let decoded = Shared::decode(fragment);
            if decoded
                .as_ref()
                .is_ok_and(|shared| !catalog::compiled(&shared.protocol))
            {
                // Another download runs it (see `reload_with`).
                let _ = gloo::utils::window().location().reload();
                return;
            }
            let started = decoded
                .map_err(|e| {
                    format!(
                        "This link could not be read: {}.",
                        crate::lab::capitalise(&e.to_string())
                    )
                })
                .and_then(|shared| {
                    Opening::start(&shared)
                        .map_err(|e| format!("This link could not be opened: {e}"))
                });
            match started {
                Ok(opening) => opener.start(opening, "The current run is kept."),
                Err(text) => dispatcher.dispatch(Action::Notify(Notice {
                    tone: Tone::Error,
                    text: format!("{text} The current run is kept."),
                })),
            }
        });
        move || drop(listener)
    });
}

/// The keyboard shortcuts; `?` lists them.
#[hook]
fn use_keyboard(
    lab: &LabHandle,
    help: &UseStateHandle<bool>,
    menu: &UseStateHandle<Option<(MenuTarget, i32, i32)>>,
    partition: &UseStateHandle<bool>,
    share: &UseStateHandle<bool>,
) {
    let dispatcher = lab.dispatcher();
    let (help, menu, partition, share) =
        (help.clone(), menu.clone(), partition.clone(), share.clone());
    // Re-register when a dialog opens or closes so Escape sees the current state.
    let deps = (*help, menu.is_some(), *partition, *share);
    use_effect_with(deps, move |_| {
        // Not passive: shortcuts call preventDefault so Space does not scroll.
        let options = EventListenerOptions::enable_prevent_default();
        let listener = EventListener::new_with_options(
            &gloo::utils::document(),
            "keydown",
            options,
            move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                if typing_in_a_field(event)
                    || event.ctrl_key()
                    || event.meta_key()
                    || event.alt_key()
                {
                    return;
                }
                let dialog_open = *help || *partition || *share;
                let handled = match event.key().as_str() {
                    "?" => {
                        help.set(!*help);
                        true
                    }
                    "Escape" => {
                        help.set(false);
                        menu.set(None);
                        partition.set(false);
                        share.set(false);
                        true
                    }
                    _ if dialog_open => false,
                    " " => {
                        dispatcher.dispatch(Action::TogglePlay);
                        true
                    }
                    "ArrowRight" => {
                        dispatcher.dispatch(Action::Step);
                        true
                    }
                    "ArrowLeft" => {
                        dispatcher.dispatch(Action::StepBack);
                        true
                    }
                    "n" => {
                        dispatcher.dispatch(Action::NextRound);
                        true
                    }
                    "c" => {
                        dispatcher.dispatch(Action::Request(None));
                        true
                    }
                    "p" => {
                        partition.set(true);
                        true
                    }
                    "d" => {
                        dispatcher.dispatch(Action::Drain);
                        true
                    }
                    _ => false,
                };
                if handled {
                    event.prevent_default();
                }
            },
        );
        move || drop(listener)
    });
}

/// Shortcuts must not fire while the person types into a form field, or
/// when a button has focus and Space or Enter should press it.
fn typing_in_a_field(event: &KeyboardEvent) -> bool {
    let Some(target) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    let tag = target.tag_name();
    matches!(tag.as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || target.has_attribute("contenteditable")
        || (event.key() == " "
            && (tag == "BUTTON" || target.get_attribute("role").as_deref() == Some("button")))
}

fn media_matches(query: &str) -> bool {
    gloo::utils::window()
        .match_media(query)
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// An embed snippet for course material.
pub fn embed_code(lab: &Lab, autoplay: bool) -> String {
    let shared = lab.share(Some(Embed {
        autoplay,
        controls: Vec::new(),
    }));
    let base = gloo::utils::window().location().href().unwrap_or_default();
    let base = base.split('#').next().unwrap_or_default().to_string();
    format!(
        "<iframe src=\"{base}#{}\" width=\"800\" height=\"560\" style=\"border:0\" title=\"Clusterscope: {}\" loading=\"lazy\"></iframe>",
        shared.encode(),
        lab.setup.protocol
    )
}
